"""Check a whole log: every hash chain, every event's signature, every anchor (``cchc verify``).

Reads each context's full log (the stream and its archived years, ``cchc.runtime.full_log``)
once, in order, keeping only each aggregate's last version and hash. It names every event that
fails and every anchor that fails:

- an event: its chain link (``prev_hash`` is not its aggregate's last hash, a version skipped,
  or its hash not of its own content), or its signature (``cchc.runtime.event_signatures``);
  an unsigned event before its stream's first signed position is counted as unsigned, legacy,
  not a failure;
- an anchor: unreadable, its signature not by an anchor key of the keyring, not following the
  anchor before it (one removed, rewritten or inserted), a hole in the anchor stream's
  positions, or a stream head it names that the log no longer matches (the event at that
  position, the stream digest up to it, or the number of events folded).
"""

from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from nats.aio.client import Client as NATS
from nats.js.errors import NotFoundError
from pydantic import ValidationError

from cchc.contracts.anchors import ANCHOR_STREAM, DIGEST_START, Anchor, StreamHead, fold_digest
from cchc.contracts.envelope import GENESIS_HASH, EventEnvelope
from cchc.contracts.subjects import stream_name
from cchc.runtime.event_signatures import SignatureStatus, check_signature
from cchc.runtime.full_log import log_events
from cchc.runtime.signing_keys import Keyring
from cchc.runtime.stream_reader import stored_messages

CONTEXTS = ("dossier", "planning", "scoring")


@dataclass(frozen=True)
class EventFailure:
    stream: str
    position: int
    event_id: str
    type: str
    aggregate_id: str
    aggregate_version: int
    problem: str

    def line(self) -> str:
        return (f"{self.stream}:{self.position} {self.type} {self.aggregate_id} "
                f"v{self.aggregate_version} (event {self.event_id}): {self.problem}")


@dataclass(frozen=True)
class AnchorFailure:
    position: int  # in the anchor stream
    problem: str

    def line(self) -> str:
        return f"{ANCHOR_STREAM}:{self.position}: {self.problem}"


@dataclass
class StreamSummary:
    stream: str
    events: int = 0
    signed: int = 0
    unsigned: int = 0
    signed_since: int | None = None
    exists: bool = True  # False: no such stream (nothing was written to it yet)


@dataclass
class Verification:
    streams: list[StreamSummary] = field(default_factory=list)
    anchors: int = 0
    event_failures: list[EventFailure] = field(default_factory=list)
    anchor_failures: list[AnchorFailure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.event_failures and not self.anchor_failures


async def read_anchors(nc: NATS, keyring: Keyring,
                       failures: list[AnchorFailure]) -> list[tuple[int, Anchor]]:
    """The anchors in order; what is wrong with them as such goes to ``failures``."""
    anchors: list[tuple[int, Anchor]] = []
    previous: tuple[int, Anchor] | None = None
    expected_position = 1
    try:
        messages = [m async for m in stored_messages(nc, ANCHOR_STREAM)]
    except Exception:  # noqa: BLE001 - no anchor stream: nothing anchored yet
        messages = []
    for message in messages:
        if message.position != expected_position:
            failures.append(AnchorFailure(message.position, (
                f"anchors at {expected_position}..{message.position - 1} are missing")))
        expected_position = message.position + 1
        try:
            anchor = Anchor.from_bytes(message.data)
        except ValidationError:
            failures.append(AnchorFailure(message.position, "unreadable anchor"))
            continue
        if not keyring.verifies(anchor.key_id, anchor.signature, anchor.signing_input(),
                                owner="anchor"):
            failures.append(AnchorFailure(message.position, (
                f"signature does not verify by an anchor key of the keyring ({anchor.key_id})")))
        wanted = previous[1].fingerprint() if previous else GENESIS_HASH
        if anchor.prev_fingerprint != wanted:
            failures.append(AnchorFailure(message.position, (
                "does not follow the anchor before it "
                f"({'position ' + str(previous[0]) if previous else 'none'}): an anchor was "
                "removed, rewritten or inserted")))
        anchors.append((message.position, anchor))
        previous = (message.position, anchor)
    return anchors


async def verify_log(nc: NATS, keyring: Keyring, contexts: tuple[str, ...] = CONTEXTS,
                     expected_anchors: tuple[str, ...] = ()) -> Verification:
    result = Verification()
    anchors = await read_anchors(nc, keyring, result.anchor_failures)
    result.anchors = len(anchors)
    for fingerprint in expected_anchors:
        wanted = fingerprint.replace("-", "").lower()
        if not any(a.fingerprint().startswith(wanted) for _, a in anchors):
            result.anchor_failures.append(AnchorFailure(0, (
                f"the anchor {fingerprint} (named by a report) is not in the log")))
    for context in contexts:
        result.streams.append(await _verify_stream(nc, context, keyring, anchors, result))
    return result


async def _verify_stream(nc: NATS, context: str, keyring: Keyring,
                         anchors: list[tuple[int, Anchor]], result: Verification) -> StreamSummary:
    stream = stream_name(context)
    summary = StreamSummary(stream)
    checkpoints: dict[int, list[tuple[int, StreamHead]]] = defaultdict(list)
    anchored_since: int | None = None
    for position, anchor in anchors:
        if (head := anchor.head(stream)) is not None and head.last_seq > 0:
            checkpoints[head.last_seq].append((position, head))
            if anchored_since is None and head.signed_since is not None:
                anchored_since = head.signed_since
    heads: dict[str, tuple[int, str]] = {}
    digest, folded = DIGEST_START, 0
    try:
        await nc.jetstream().stream_info(stream)
    except NotFoundError:  # a context nothing was written to yet (or a backup from before)
        summary.exists = False
    async for envelope in (log_events(nc, context) if summary.exists else _nothing()):
        position = envelope.position or 0
        summary.events += 1
        problem = _chain_problem(envelope, heads.get(envelope.aggregate_id))
        heads[envelope.aggregate_id] = (envelope.aggregate_version, envelope.hash)
        if problem:
            result.event_failures.append(_failure(stream, envelope, problem))
        if envelope.signature is None:
            # Legacy before signing began (as the anchors recorded it, or at the first signed
            # event met so far); a forgery after.
            since = anchored_since if anchored_since is not None else summary.signed_since
            check = check_signature(envelope, keyring, since)
            if check.status is SignatureStatus.UNSIGNED:
                summary.unsigned += 1
            else:
                result.event_failures.append(_failure(stream, envelope, check.reason or "invalid"))
        else:
            if summary.signed_since is None:
                summary.signed_since = position
            check = check_signature(envelope, keyring, None)
            if check.status is SignatureStatus.SIGNED:
                summary.signed += 1
            else:
                result.event_failures.append(_failure(stream, envelope, check.reason or "invalid"))
        digest, folded = fold_digest(digest, position, envelope.hash), folded + 1
        for anchor_position, head in checkpoints.pop(position, []):
            problem = _head_problem(head, envelope, digest, folded)
            if problem:
                result.anchor_failures.append(AnchorFailure(anchor_position, problem))
    for _last_seq, missed in sorted(checkpoints.items()):
        for anchor_position, head in missed:
            result.anchor_failures.append(AnchorFailure(anchor_position, (
                f"{stream} has no event at {head.last_seq}, the head it anchors (removed?)")))
    if anchored_since is not None:
        summary.signed_since = min(anchored_since, summary.signed_since or anchored_since)
    return summary


async def _nothing() -> AsyncIterator[EventEnvelope]:
    return
    yield


def _chain_problem(envelope: EventEnvelope, before: tuple[int, str] | None) -> str | None:
    version, prev_hash = before or (0, GENESIS_HASH)
    if envelope.aggregate_version != version + 1:
        return f"version {envelope.aggregate_version} follows version {version}"
    if envelope.prev_hash != prev_hash:
        return "prev_hash is not its aggregate's previous hash (history rewritten)"
    if envelope.compute_hash() != envelope.hash:
        return "its hash is not the hash of its content (content changed)"
    return None


def _head_problem(head: StreamHead, envelope: EventEnvelope, digest: str,
                  folded: int) -> str | None:
    if envelope.hash != head.last_hash:
        return f"{head.stream}:{head.last_seq} is not the event it anchors"
    if digest != head.digest:
        return (f"{head.stream} up to {head.last_seq} is not the log it anchors (an event "
                "before it removed, added or changed)")
    if folded != head.events:
        return f"{head.stream} up to {head.last_seq} holds {folded} events, anchored {head.events}"
    return None


def _failure(stream: str, envelope: EventEnvelope, problem: str) -> EventFailure:
    return EventFailure(stream, envelope.position or 0, envelope.event_id, envelope.type,
                        envelope.aggregate_id, envelope.aggregate_version, problem)
