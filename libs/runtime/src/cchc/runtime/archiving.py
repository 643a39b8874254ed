"""A closed year out of the hot log and back: ``cchc archive create | verify | restore``.

**Create** (``archive_year``), for one context and one closed year:

1. Read the context's stream once and sum up every aggregate: its first and last event type,
   when its last event was recorded, where it ends. The context's policy says which are
   finished; those whose last event was recorded in ``year`` or before (province time) are
   taken. An aggregate is taken whole, never cut: its hash chain stays in one piece.
2. Read the stream again and write the taken aggregates' events, in log order with their own
   positions, to a local file, checking every aggregate's hash chain on the way. A broken chain
   stops here: nothing has left the stream.
3. Store the file and its manifest in the bucket, read it back and check it against the
   manifest (sha256, segment hash, chain heads); then record the cut in the log itself (the
   context's ``archived`` event, carrying the same digests).
4. Remove the taken subjects from the stream, each only up to its last archived event
   (``purge`` with ``seq``), so an event appended meanwhile stays; such aggregates are named in
   the result.

Events put back by an earlier restore (``Cchc-Restored-From``) are in an earlier generation
already: they leave the stream again without being archived twice.

**Verify** (``verify_archive``): the manifest against the log's record of the cut, the stored
object against the manifest, every chain in it, and none of its positions still in the stream
(unless the archive was restored). Bucket and log would both have to be rewritten to pass.

**Restore** (``restore_archive``): every archived aggregate's events back on its subject, in
order, the same bytes, each marked ``Cchc-Restored-From: <position>``. The first of an
aggregate's events expects its subject to be empty, so an aggregate that has events in the
stream is left alone and named. Projections skip restored events (they applied them at their
first position, or read them from the archive when they replay); commands and the audit read
them like any other.
"""

import asyncio
import json
import logging
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client as NATS
from nats.js.errors import BadRequestError

from cchc.contracts.envelope import GENESIS_HASH, EventEnvelope
from cchc.contracts.events import Event
from cchc.contracts.localtime import LOCAL_TZ
from cchc.contracts.subjects import (
    EVENT_TYPE_HEADER,
    PROVINCE,
    RESTORED_FROM_HEADER,
    stream_name,
)
from cchc.runtime.archive_store import (
    GENESIS,
    ArchivedEvent,
    ArchiveManifest,
    ArchiveShelf,
    file_sha256,
    heads_hash,
    read_lines,
    segment_step,
    write_lines,
)
from cchc.runtime.eventstore import EventStore, Metadata
from cchc.runtime.stream_reader import StoredMessage, stored_messages
from cchc.runtime.signing_keys import SigningKey

log = logging.getLogger("cchc.archive")

PURGES_IN_FLIGHT = 256
RESTORES_IN_FLIGHT = 512


class ArchiveFailed(Exception):
    """Something did not check out; what the message says was not done."""


@dataclass
class AggregateSummary:
    """One aggregate as the first read saw it (what a policy decides on)."""

    first_type: str
    last_type: str
    last_occurred_at: datetime
    last_position: int
    events: int = 0
    restored: int = 0  # of its events, how many were put back by a restore


# Which aggregates of a context are finished, judged by their summary.
ArchivePolicy = Callable[[AggregateSummary], bool]


@dataclass(frozen=True)
class ArchiveRules:
    """What a context archives, and the events that record each cut and restore in its log
    (on aggregate ``archive-<year>-<generation>`` of agency ``_province``)."""

    finished: ArchivePolicy
    archived: Callable[[ArchiveManifest], Event]
    restored: Callable[[ArchiveManifest, int], Event]


def record_id(manifest: ArchiveManifest) -> str:
    return f"archive-{manifest.year}-{manifest.generation}"


# What the log's record of a cut must agree with the manifest on.
RECORDED = ("year", "generation", "events", "aggregates", "first_position", "last_position",
            "sha256", "segment_hash", "heads_hash")


@dataclass
class Archived:
    manifest: ArchiveManifest | None  # None: nothing new to archive
    purged_subjects: int
    changed_meanwhile: list[str] = field(default_factory=list)


@dataclass
class Restored:
    events: int
    aggregates: int
    skipped: list[str] = field(default_factory=list)  # subjects that hold events already


def local_year(moment: datetime) -> int:
    return moment.astimezone(LOCAL_TZ).year


async def _summaries(nc: NATS, context: str) -> tuple[dict[str, AggregateSummary], int]:
    """Every aggregate's summary by subject, and the stream's head when the read began."""
    stream = stream_name(context)
    head = (await nc.jetstream().stream_info(stream)).state.last_seq
    found: dict[str, AggregateSummary] = {}
    async for message in _until(stored_messages(nc, stream), head):
        body = json.loads(message.data)
        kind = message.headers.get(EVENT_TYPE_HEADER) or body["type"]
        occurred = datetime.fromisoformat(body["occurred_at"])
        summary = found.get(message.subject)
        if summary is None:
            summary = found[message.subject] = AggregateSummary(kind, kind, occurred,
                                                                message.position)
        summary.last_type, summary.last_occurred_at = kind, occurred
        summary.last_position = message.position
        summary.events += 1
        summary.restored += RESTORED_FROM_HEADER in message.headers
    return found, head


async def _until(messages: AsyncIterator[StoredMessage], head: int) -> AsyncIterator[StoredMessage]:
    async for message in messages:
        if message.position > head:
            return
        yield message


def choose(summaries: dict[str, AggregateSummary], year: int, finished: ArchivePolicy,
           ) -> dict[str, AggregateSummary]:
    """The aggregates a year's archive takes: finished, and quiet since the year ended."""
    return {subject: summary for subject, summary in summaries.items()
            if local_year(summary.last_occurred_at) <= year and finished(summary)}


class _ChainCheck:
    """Every taken aggregate's hash chain, followed event by event."""

    def __init__(self) -> None:
        self.heads: dict[str, tuple[str, int, str]] = {}  # subject -> (id, version, head)

    def follow(self, message: StoredMessage) -> None:
        envelope = EventEnvelope.from_bytes(message.data, message.position)
        _, version, head = self.heads.get(message.subject, ("", 0, GENESIS_HASH))
        if (envelope.aggregate_version != version + 1 or envelope.prev_hash != head
                or envelope.compute_hash() != envelope.hash):
            raise ArchiveFailed(
                f"the hash chain of {message.subject} breaks at position {message.position} "
                f"(version {envelope.aggregate_version}); nothing was archived")
        self.heads[message.subject] = (envelope.aggregate_id, envelope.aggregate_version,
                                       envelope.hash)


async def archive_year(
    nc: NATS, context: str, year: int, rules: ArchiveRules, *, by: str,
    now: datetime | None = None, progress: Callable[[str], None] = lambda line: None,
    signer: SigningKey | None = None,
) -> Archived:
    now = now or datetime.now(UTC)
    if year >= local_year(now):
        raise ArchiveFailed(f"{year} is not over yet: only a closed year can be archived")
    shelf = ArchiveShelf(nc)
    earlier = [m for m in await shelf.manifests(context) if m.year == year]
    progress(f"{context}: reading the log")
    summaries, head = await _summaries(nc, context)
    taken = choose(summaries, year, rules.finished)
    if not taken:
        return Archived(None, 0)
    fresh = sum(s.events - s.restored for s in taken.values())
    progress(f"{context}: {len(taken)} aggregates finished by the end of {year}, "
             f"{fresh} events to archive")
    manifest = None
    with tempfile.TemporaryDirectory(prefix="cchc-archive-") as folder:
        if fresh:
            path = Path(folder) / "events.jsonl.gz"
            manifest = await _write(nc, context, year, taken, head, path, by, now,
                                    generation=max((m.generation for m in earlier), default=0) + 1)
            progress(f"{context}: {manifest.events} events written; storing and checking")
            await shelf.put(manifest, path)
            await _check_stored(shelf, manifest, Path(folder) / "stored.jsonl.gz")
            # The log says what leaves it, before anything does.
            await _record(nc, manifest, rules.archived(manifest), by, signer)
    progress(f"{context}: removing {len(taken)} aggregates from the stream")
    await _purge(nc, context, taken)
    changed = await _changed_meanwhile(nc, context, head, set(taken))
    for restored in earlier:  # what they put back has left the stream again
        if restored.restored_at is not None:
            await shelf.put_manifest(restored.model_copy(update={"restored_at": None}))
    return Archived(manifest, len(taken), changed)


async def _write(
    nc: NATS, context: str, year: int, taken: dict[str, AggregateSummary], head: int,
    path: Path, by: str, now: datetime, generation: int,
) -> ArchiveManifest:
    chains = _ChainCheck()
    kept: list[ArchivedEvent] = []
    segment, first, last, count = GENESIS, 0, 0, 0

    async def events() -> AsyncIterator[ArchivedEvent]:
        async for message in _until(stored_messages(nc, stream_name(context)), head):
            if message.subject not in taken:
                continue
            chains.follow(message)
            if RESTORED_FROM_HEADER in message.headers:
                continue  # archived by an earlier generation
            yield ArchivedEvent(message.position, message.subject, message.data)

    async for event in events():
        kept.append(event)
        segment = segment_step(segment, event)
        first = first or event.position
        last = event.position
        count += 1
        if len(kept) >= 10_000:  # written as it goes: a year does not sit in memory
            _append(path, kept)
            kept.clear()
    _append(path, kept)
    return ArchiveManifest(
        context=context, year=year, generation=generation, created_at=now, created_by=by,
        events=count, aggregates=len(taken), first_position=first, last_position=last,
        sha256=file_sha256(path), segment_hash=segment,
        heads_hash=heads_hash(chains.heads.values()),
    )


def _append(path: Path, events: list[ArchivedEvent]) -> None:
    # gzip members concatenate into one valid gzip stream
    with path.open("ab") as out:
        write_lines(events, out)


def _lines(path: Path) -> Iterator[ArchivedEvent]:
    with path.open("rb") as source:
        yield from read_lines(source)


def check_events_file(manifest: ArchiveManifest, path: Path) -> None:
    """The file is the manifest's, byte for byte and event by event; every chain in it holds
    (restored-from-earlier events are not in it, so a chain may start past version 1 only if
    an earlier generation holds its beginning)."""
    if file_sha256(path) != manifest.sha256:
        raise ArchiveFailed(f"{manifest.prefix}: the stored events are not the ones archived")
    segment, count, previous = GENESIS, 0, 0
    heads: dict[str, tuple[str, int, str]] = {}
    for event in _lines(path):
        if event.position <= previous:
            raise ArchiveFailed(f"{manifest.prefix}: position {event.position} out of order")
        previous = event.position
        segment = segment_step(segment, event)
        count += 1
        envelope = EventEnvelope.from_bytes(event.data, event.position)
        _, version, head = heads.get(event.subject, ("", envelope.aggregate_version - 1,
                                                     envelope.prev_hash))
        if envelope.aggregate_version == 1:
            head = GENESIS_HASH
        if (envelope.aggregate_version != version + 1 or envelope.prev_hash != head
                or envelope.compute_hash() != envelope.hash):
            raise ArchiveFailed(f"{manifest.prefix}: the hash chain of {event.subject} breaks "
                                f"at position {event.position}")
        heads[event.subject] = (envelope.aggregate_id, envelope.aggregate_version, envelope.hash)
    if (count, segment) != (manifest.events, manifest.segment_hash):
        raise ArchiveFailed(f"{manifest.prefix}: {count} events with segment hash {segment}; "
                            f"the manifest says {manifest.events}, {manifest.segment_hash}")


async def _check_stored(shelf: ArchiveShelf, manifest: ArchiveManifest, path: Path) -> None:
    await shelf.download(manifest, path)
    check_events_file(manifest, path)


async def _purge(nc: NATS, context: str, taken: dict[str, AggregateSummary]) -> None:
    js = nc.jetstream(timeout=30)
    stream = stream_name(context)
    subjects = list(taken.items())
    for start in range(0, len(subjects), PURGES_IN_FLIGHT):
        chunk = subjects[start:start + PURGES_IN_FLIGHT]
        await _gather([js.purge_stream(stream, subject=subject, seq=summary.last_position + 1)
                       for subject, summary in chunk])


async def _gather(calls: list[Awaitable[object]]) -> None:
    await asyncio.gather(*calls)


async def _changed_meanwhile(nc: NATS, context: str, head: int, taken: set[str]) -> list[str]:
    """Taken subjects that got an event after the first read began (it stays in the stream)."""
    changed: list[str] = []
    async for message in stored_messages(nc, stream_name(context), start=head + 1):
        if message.subject in taken and message.subject not in changed:
            changed.append(message.subject)
    return changed


async def _record(nc: NATS, manifest: ArchiveManifest, event: Event, by: str,
                  signer: SigningKey | None) -> None:
    # Signed with the context's service key: appended after signing began, an unsigned record
    # would be named a forgery by `cchc verify`.
    store = EventStore(nc, signer=signer)
    history = await store.load(manifest.context, record_id(manifest))
    await store.append(history, event, agency=PROVINCE, occurred_at=datetime.now(UTC),
                       meta=Metadata(actor=by, correlation_id=record_id(manifest)))


async def _check_recorded(nc: NATS, manifest: ArchiveManifest) -> None:
    """The log's own record of the cut names this archive's digests."""
    history = await EventStore(nc).load(manifest.context, record_id(manifest))
    if not history.exists:
        raise ArchiveFailed(f"{manifest.prefix}: the log has no record of this archive")
    recorded = history.envelopes[0].payload
    differs = [name for name in RECORDED if recorded.get(name) != getattr(manifest, name)]
    if differs:
        raise ArchiveFailed(f"{manifest.prefix}: the manifest and the log's record of the cut "
                            f"differ in {', '.join(differs)}")


async def verify_archive(nc: NATS, manifest: ArchiveManifest) -> int:
    """Check an archive; how many events it holds."""
    await _check_recorded(nc, manifest)
    with tempfile.TemporaryDirectory(prefix="cchc-archive-") as folder:
        path = Path(folder) / "events.jsonl.gz"
        await _check_stored(ArchiveShelf(nc), manifest, path)
        if manifest.restored_at is None:  # what is left of its range in the stream
            archived = {e.position for e in _lines(path)}
            stream = stream_name(manifest.context)
            async for message in stored_messages(nc, stream, start=manifest.first_position):
                if message.position > manifest.last_position:
                    break
                if message.position in archived:
                    raise ArchiveFailed(f"{manifest.prefix}: position {message.position} "
                                        "is both archived and in the stream")
    return manifest.events


async def restore_archive(nc: NATS, manifest: ArchiveManifest, rules: ArchiveRules, *, by: str,
                          progress: Callable[[str], None] = lambda line: None,
                          signer: SigningKey | None = None) -> Restored:
    """Put an archive's events back into the stream (see the module's docstring)."""
    shelf = ArchiveShelf(nc)
    js = nc.jetstream(timeout=30)
    stream = stream_name(manifest.context)
    with tempfile.TemporaryDirectory(prefix="cchc-archive-") as folder:
        path = Path(folder) / "events.jsonl.gz"
        await _check_stored(shelf, manifest, path)
        by_subject: dict[str, list[ArchivedEvent]] = {}
        for event in _lines(path):
            by_subject.setdefault(event.subject, []).append(event)
        progress(f"{manifest.prefix}: putting back {manifest.events} events of "
                 f"{len(by_subject)} aggregates")
        result = Restored(0, 0)

        async def put_back(subject: str, events: list[ArchivedEvent]) -> None:
            last = 0
            for event in events:
                envelope = EventEnvelope.from_bytes(event.data)
                try:
                    ack = await js.publish(subject, event.data, stream=stream, headers={
                        "Nats-Msg-Id": f"restored:{envelope.event_id}",
                        "Nats-Expected-Last-Subject-Sequence": str(last),
                        EVENT_TYPE_HEADER: envelope.type,
                        RESTORED_FROM_HEADER: str(event.position),
                    })
                except BadRequestError:
                    if last == 0:  # the subject holds events: leave it as it is
                        result.skipped.append(subject)
                        return
                    raise
                last = ack.seq
                result.events += 1
            result.aggregates += 1

        items = list(by_subject.items())
        for start in range(0, len(items), RESTORES_IN_FLIGHT):
            await _gather([put_back(s, e) for s, e in items[start:start + RESTORES_IN_FLIGHT]])
    await _record(nc, manifest, rules.restored(manifest, result.events), by, signer)
    await shelf.put_manifest(manifest.model_copy(update={"restored_at": datetime.now(UTC)}))
    return result
