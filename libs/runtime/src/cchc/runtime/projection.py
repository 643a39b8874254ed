"""The projection runner: events from the log into SQL rows, exactly once in effect.

A durable pull consumer fetches a batch; the batch is applied in ONE transaction together with
the projection's checkpoint (last stream position applied), then acknowledged. The SQL checkpoint
is the truth: on start, and after any failure, the consumer is recreated from checkpoint + 1, so
redelivered or out-of-order messages can neither be skipped nor counted twice. A position
missing from the stream is passed over only when the stream confirms the hole (the first message
after the checkpoint is the one delivered) and no archive holds it: events of archived years
(``cchc.runtime.archive_store``) are merged in at their own positions during a replay, and
copies put back by a restore are passed over, having been applied at their first position. A
batch that fails for a passing reason (database unavailable) is retried whole; an event that
fails on its own (malformed, or a projection bug) is parked with a log line and the projection
goes on.

Each batch is a span ``project <name>``, linked (not parented: it runs on its own, later) to
the span that appended each of its events, whose trace context the envelope keeps. Metrics:
events applied, events parked, the checkpoint and the lag behind the log's head (from the
pending count the consumer sends with each message, and the stream's head at each reset).
"""

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError
from opentelemetry.trace import Link
from sqlalchemy import MetaData, exc, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.subjects import context_subjects, stream_name
from cchc.runtime import checkpoints, replay_indexes
from cchc.runtime.archive_store import ArchivedEvent, ArchiveReplay, ArchiveShelf
from cchc.runtime.heap import collector_paused
from cchc.runtime.leadership import ProjectionLease, lock_key
from cchc.runtime.observability import (
    PROJECTION_EVENTS_APPLIED,
    PROJECTION_LAG,
    PROJECTION_PARKED,
    PROJECTION_POSITION,
    get_tracer,
    link_from_traceparent,
)
from cchc.runtime.pullfeed import Delivered, PullFeed
from cchc.runtime.replay_reader import ReadTask, ReplayFeed
from cchc.runtime.sqldb import write_turn
from cchc.runtime.waiting import cancel_and_wait, wait_at_most

log = logging.getLogger("cchc.projection")
tracer = get_tracer(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.TimeoutError,
    ConnectionError,
    OSError,
    asyncio.TimeoutError,
)
MAX_ATTEMPTS_BEFORE_PARKING = 3
MAX_LINKS_PER_BATCH = 128  # OpenTelemetry's default limit: a big replay batch links its first
LEASE_CHECK_S = 2.0  # how often the active runner makes sure it still holds the lease
STANDBY_POLL_S = 0.02  # how often a standby replica's read-your-writes wait looks
# From this many events behind the head on, a replay reads the log in a process of its own
# (cchc.runtime.replay_reader): starting it costs about half a second.
REPLAY_READER_FROM = 20_000
# Events per transaction in a replay by a reader process: fewer commits and statements per
# event than a live batch; nobody waits on a replay's batches.
REPLAY_BATCH = 4000


class Projection(Protocol):
    """Events in, rows out, inside the batch's transaction.

    ``apply`` takes one event; a projection that also has ``apply_batch(conn, envelopes)`` gets
    the whole batch at once, in log order, to write its rows in bulk. One with
    ``defer_indexes = True`` gets its non-unique indexes built after a replay into fresh tables
    rather than during it (``cchc.runtime.replay_indexes``).
    """

    name: str
    context: str
    metadata: MetaData

    async def apply(self, conn: AsyncConnection, envelope: EventEnvelope) -> None: ...


class _OutOfOrder(Exception):
    pass


@dataclass
class _Item:
    position: int
    subject: str
    envelope: EventEnvelope | None
    decode_error: str | None
    restored: bool = False  # a copy put back from an archive: applied at its first position
    archived: bool = False  # read from an archive, at its own position


def _links(items: list[_Item]) -> list[Link]:
    """Links to the spans that appended these events, one per distinct span."""
    links: list[Link] = []
    seen: set[str] = set()
    for item in items:
        traceparent = item.envelope.traceparent if item.envelope is not None else None
        if not traceparent or traceparent in seen:
            continue
        seen.add(traceparent)
        link = link_from_traceparent(traceparent, {"cchc.position": item.position})
        if link is not None:
            links.append(link)
            if len(links) >= MAX_LINKS_PER_BATCH:
                break
    return links


def _decode(message: Delivered | ArchivedEvent) -> _Item:
    position, subject = message.position, message.subject
    restored = isinstance(message, Delivered) and message.restored
    archived = isinstance(message, ArchivedEvent)
    if restored:
        return _Item(position, subject, None, None, restored=True)
    try:
        envelope = EventEnvelope.from_bytes(message.data, position)
        return _Item(position, subject, envelope, None, archived=archived)
    except ValueError as error:  # pydantic's ValidationError is a ValueError
        return _Item(position, subject, None, f"malformed event: {error}", archived=archived)


async def _one_setup_at_a_time(conn: AsyncConnection) -> None:
    """On PostgreSQL, hold the database's schema-change lock until the transaction ends:
    replicas starting together on an empty database change its schema one at a time (two
    CREATE TABLE or CREATE INDEX of one name at once fail on pg_class's or pg_type's unique
    index, IF NOT EXISTS or not)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": lock_key("projection-setup")})


class ProjectionRunner:
    def __init__(
        self,
        nc: NATS,
        engine: AsyncEngine,
        projection: Projection,
        batch_size: int = 500,
        fetch_timeout: float = 1.0,
        consumer_name: str | None = None,
        replay_reader_from: int | None = REPLAY_READER_FROM,
        replay_batch_size: int = REPLAY_BATCH,
    ) -> None:
        self.nc = nc
        self.js = nc.jetstream()
        self.engine = engine
        self.projection = projection
        self.batch_size = batch_size
        self.fetch_timeout = fetch_timeout
        self.position = 0
        # The checkpoint as this runner last read or wrote it; a batch then moves it with a
        # compare-and-set instead of reading it first (one trip less on SQLite). None: read it.
        self._known_checkpoint: int | None = None
        self._advanced = asyncio.Condition()
        self._feed: PullFeed | ReplayFeed | None = None
        self.replay_reader_from = replay_reader_from  # None: never a reader process
        self.replay_batch_size = max(batch_size, replay_batch_size)
        self._reader_failed = False
        # Deferred indexes not yet made sure of since setup: built before the live consumer
        # starts, before catch_up returns, and before the runner counts as caught up.
        self._indexes_pending = False
        self._archive: ArchiveReplay | None = None
        self._failures: dict[int, int] = {}
        # Two runners of one projection into two databases (a rebuild beside the live one) need
        # two consumers; by default the name follows the projection.
        self._consumer_name = consumer_name
        self.lease: ProjectionLease | None = None
        self._stopping: asyncio.Event | None = None  # the stop of the run in progress
        self._applied = PROJECTION_EVENTS_APPLIED.labels(projection.name)
        self._parked = PROJECTION_PARKED.labels(projection.name)
        self._checkpoint = PROJECTION_POSITION.labels(projection.name)
        self._lag = PROJECTION_LAG.labels(projection.name)

    @property
    def name(self) -> str:
        return self.projection.name

    @property
    def durable(self) -> str:
        return self._consumer_name or f"projection-{self.name}".replace(".", "-")

    async def setup(self) -> None:
        """Create the projection's tables; a name this database has never run starts afresh.

        A projection's name carries the version of its tables (``dossier-read-v2``). When the
        tables change shape or meaning the name changes; a service runs the new name in a
        namespace of its own, beside the old one (``cchc.runtime.projection_upgrade``). Should a
        new name still meet tables of an older version in its namespace (no room for another,
        as in an in-memory database), its first start drops them and replays the log from the
        first event, instead of reading old rows with a new meaning.
        """
        async with write_turn(self.engine), self.engine.begin() as conn:
            await _one_setup_at_a_time(conn)
            await conn.run_sync(checkpoints.metadata.create_all)
            if not await checkpoints.exists(conn, self.name):
                log.info("projection %s: not run in this database yet; replaying from the start",
                         self.name)
                await conn.run_sync(self.projection.metadata.drop_all)
            defer = bool(getattr(self.projection, "defer_indexes", False))
            if defer:
                await conn.run_sync(replay_indexes.create_tables, self.projection.metadata)
            else:
                await conn.run_sync(self.projection.metadata.create_all)
            self.position = await checkpoints.read_checkpoint(conn, self.name)
        self._known_checkpoint = self.position
        self._indexes_pending = defer

    async def _ensure_indexes(self) -> None:
        if not self._indexes_pending:
            return
        started = time.monotonic()
        async with write_turn(self.engine), self.engine.begin() as conn:
            await _one_setup_at_a_time(conn)  # two runners of one projection: one builds them
            await conn.run_sync(replay_indexes.create_indexes, self.projection.metadata)
        self._indexes_pending = False
        log.info("projection %s: indexes in place at %d (%.1f s)", self.name, self.position,
                 time.monotonic() - started)

    async def drop(self) -> None:
        """Forget everything this projection wrote, to replay it from the first event."""
        async with write_turn(self.engine), self.engine.begin() as conn:
            await conn.run_sync(checkpoints.metadata.create_all)
            await conn.run_sync(self.projection.metadata.drop_all)
            await checkpoints.forget(conn, self.name)
        self.position = 0
        self._known_checkpoint = None

    async def run(self, stop: asyncio.Event) -> None:
        """Apply events as they come until ``stop``; only while this replica holds the lease."""
        self.lease = ProjectionLease(self.engine, self.name)
        try:
            while not stop.is_set():
                if not await self.lease.acquire(stop):
                    break
                try:
                    await self._run_while_leading(stop)
                except (*TRANSIENT_ERRORS, NatsError) as error:
                    log.warning("projection %s: cannot start (%s: %s); retrying",
                                self.name, type(error).__name__, error)
                    await wait_at_most(stop.wait(), 1.0)
                finally:
                    await self.close()
        finally:
            await self.lease.release()

    async def _run_while_leading(self, stop: asyncio.Event) -> None:
        assert self.lease is not None
        self._stopping = stop
        await self.setup()
        await self._reset_consumer()
        waker = asyncio.create_task(self._wake_on(stop), name=f"wake {self.name}")
        try:
            await self._follow(stop)
        finally:
            await cancel_and_wait(waker)

    async def _wake_on(self, stop: asyncio.Event) -> None:
        """Once ``stop`` is set, end the feed's wait for events: a runner idle at the head of
        the log stops at once instead of sitting out its ``fetch_timeout`` (a second per
        projection, one after another as a service stops them). A feed made after this (a
        reset) is woken as it is made."""
        await stop.wait()
        if self._feed is not None:
            self._feed.wake()

    async def _follow(self, stop: asyncio.Event) -> None:
        assert self.lease is not None
        backoff = 0.1
        checked = time.monotonic()
        while not stop.is_set():
            if time.monotonic() - checked > LEASE_CHECK_S:
                if not await self.lease.still_held():
                    log.warning("projection %s: lost the lease; standing by", self.name)
                    return
                checked = time.monotonic()
            try:
                await self.step()
                backoff = 0.1
            except (*TRANSIENT_ERRORS, NatsError) as error:
                log.warning(
                    "projection %s: batch failed (%s: %s); retrying",
                    self.name, type(error).__name__, error,
                )
                await wait_at_most(stop.wait(), backoff)
                backoff = min(backoff * 2, 5.0)
                await self._reset_consumer_quietly()
            except Exception:  # noqa: BLE001 - a projection must never stop silently
                log.exception("projection %s: unexpected failure; retrying", self.name)
                await wait_at_most(stop.wait(), backoff)
                backoff = min(backoff * 2, 5.0)
                await self._reset_consumer_quietly()

    async def catch_up(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Apply every event in the log now, then return the position reached."""
        await self.setup()
        await self._reset_consumer()
        target = (await self.js.stream_info(stream_name(self.projection.context))).state.last_seq
        while self.position < target:
            if not await self.step() and await self._nothing_left():
                break  # what remains up to the head are holes (archived, purged)
            if progress:
                progress(self.position, target)
        await self._ensure_indexes()
        return self.position

    async def step(self) -> int:
        """Fetch and apply one batch; returns how many messages it held."""
        assert self._feed is not None
        msgs = await self._feed.take(self.fetch_timeout)
        if not msgs and self._feed.finished:
            # The replay's read is over: the consumer goes on. A reader that ended before its
            # end is not tried again by this runner (whatever failed would fail again).
            self._reader_failed = self._reader_failed or not self._feed.complete
            await self._reset_consumer()
            return 0
        if isinstance(self._feed, ReplayFeed):
            with collector_paused():  # a replay batch: see cchc.runtime.heap
                return await self._apply_delivered(msgs)
        return await self._apply_delivered(msgs)

    async def _apply_delivered(self, msgs: list[Delivered]) -> int:
        assert self._feed is not None
        items = await self._merged_with_archive([_decode(m) for m in msgs])
        if not items:
            return 0
        with tracer.start_as_current_span(
            f"project {self.name}", links=_links(items),
            attributes={"cchc.projection": self.name, "cchc.batch_size": len(items),
                        "cchc.first_position": items[0].position,
                        "cchc.last_position": items[-1].position},
        ):
            try:
                try:
                    await self._apply(items)
                except (_OutOfOrder, *TRANSIENT_ERRORS):
                    raise
                except Exception as error:  # noqa: BLE001 - some event in the batch fails alone
                    log.info("projection %s: batch failed (%s); one by one", self.name, error)
                    await self._apply_one_by_one(items)
            except _OutOfOrder as error:
                log.debug("projection %s: out of order (%s); resetting", self.name, error)
                await self._reset_consumer()
                return len(msgs)
            if msgs:
                await self._feed.acknowledge(msgs[-1])  # AckPolicy.ALL: the whole batch
        if msgs:
            # What the consumer still had for us when it sent the batch's last message: the
            # log's head minus what is now applied (as of that moment; newer events come next).
            self._lag.set(msgs[-1].pending)
        await self._notify()
        return len(items)

    async def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until the projection has applied ``position``. The active replica is told at
        once; a standby replica (another holds the lease) reads the shared checkpoint."""
        deadline = time.monotonic() + timeout
        while self.position < position:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if self.lease is not None and self.lease.held:
                async with self._advanced:
                    await wait_at_most(self._advanced.wait(), min(remaining, 0.5))
            else:
                self.position = max(self.position, await self._shared_checkpoint())
                if self.position < position:
                    await asyncio.sleep(min(remaining, STANDBY_POLL_S))
        return True

    async def read_position(self) -> int:
        """The position as the database has it (another replica, or release, may apply)."""
        self.position = max(self.position, await self._shared_checkpoint())
        return self.position

    async def log_head(self) -> int:
        """The last position of the log this projection reads."""
        return (await self.js.stream_info(stream_name(self.projection.context))).state.last_seq

    async def caught_up_with_head(self) -> bool:
        """Whether every event the log holds now is applied (what remains are holes), and the
        tables have their indexes."""
        if self._indexes_pending:
            return False
        if self.position >= await self.log_head():
            return True
        return await self._nothing_left()

    async def _shared_checkpoint(self) -> int:
        try:
            async with self.engine.connect() as conn:
                return await checkpoints.read_checkpoint_only(conn, self.name)
        except exc.DBAPIError:  # no table yet: nothing applied yet
            return 0

    async def _apply(self, items: list[_Item]) -> None:
        """A batch, from the checkpoint this runner knows; should that fail in any way, once
        more from the checkpoint as the database has it (another runner may have applied some
        of the batch meanwhile: those are skipped there, never taken for failing events)."""
        if self._known_checkpoint is None:
            await self._apply_batch(items)
            return
        try:
            await self._apply_batch(items)
        except Exception as error:  # noqa: BLE001 - tried again from the stored checkpoint
            log.debug("projection %s: batch from the known checkpoint failed (%s); reading it",
                      self.name, error)
            await self._apply_batch(items)

    async def _apply_batch(self, items: list[_Item]) -> None:
        known, self._known_checkpoint = self._known_checkpoint, None  # until this one commits
        async with write_turn(self.engine), self.engine.begin() as conn:
            if known is None:
                position = await checkpoints.read_checkpoint(conn, self.name, lock=True)
            else:
                position = known
            start = position
            fresh: list[EventEnvelope] = []
            for item in items:
                if item.position <= position:
                    continue  # redelivered: already applied
                await self._check_next(item, position)
                position = item.position
                if item.restored:
                    continue
                if item.envelope is None:
                    raise ValueError(item.decode_error)
                fresh.append(item.envelope)
            apply_batch = getattr(self.projection, "apply_batch", None)
            if apply_batch is not None:
                await apply_batch(conn, fresh)
            else:
                for envelope in fresh:
                    await self.projection.apply(conn, envelope)
            if known is None:
                await checkpoints.write_checkpoint(conn, self.name, position)
            else:  # from where this runner left it, or CheckpointMoved and the batch undone
                await checkpoints.advance_checkpoint(conn, self.name, start, position)
        self.position = position
        self._known_checkpoint = position
        self._applied.inc(len(fresh))
        self._checkpoint.set(position)

    async def _apply_one_by_one(self, items: list[_Item]) -> None:
        for item in items:
            if item.position <= self.position:
                continue
            try:
                await self._apply([item])
                self._failures.pop(item.position, None)
            except (_OutOfOrder, *TRANSIENT_ERRORS):
                raise
            except Exception as error:  # noqa: BLE001
                attempts = self._failures.get(item.position, 0) + 1
                self._failures[item.position] = attempts
                if item.envelope is not None and attempts < MAX_ATTEMPTS_BEFORE_PARKING:
                    await asyncio.sleep(0.05 * attempts)
                    raise _OutOfOrder() from error  # replay from here: try again
                await self._park(item, error)

    async def _park(self, item: _Item, error: BaseException) -> None:
        reason = item.decode_error or f"{type(error).__name__}: {error}"
        log.error(
            "projection %s PARKED event at position %d on %s: %s",
            self.name, item.position, item.subject, reason,
        )
        self._known_checkpoint = None
        async with write_turn(self.engine), self.engine.begin() as conn:
            position = await checkpoints.read_checkpoint(conn, self.name, lock=True)
            await self._check_next(item, position)
            await checkpoints.park(conn, self.name, item.position, item.subject, reason)
            await checkpoints.write_checkpoint(conn, self.name, item.position)
        self._failures.pop(item.position, None)
        self.position = item.position
        self._known_checkpoint = item.position
        self._parked.inc()
        self._checkpoint.set(item.position)

    async def _merged_with_archive(self, items: list[_Item]) -> list[_Item]:
        """The batch with the archived events that come before (and, at the end of what the
        stream holds, after) its events, in log order."""
        archive = self._archive
        if archive is None:
            return items
        merged: list[_Item] = []
        for item in items:
            while (held := archive.peek()) is not None and held.position < item.position:
                merged.append(_decode(archive.take()))
            merged.append(item)
        if not items and archive.peek() is not None:
            # Nothing delivered: archived events go on only up to the next event in the stream.
            after = merged[-1].position if merged else self.position
            live = await self._first_in_stream_after(after)
            while ((held := archive.peek()) is not None and len(merged) < self.batch_size
                   and (live is None or held.position < live)):
                merged.append(_decode(archive.take()))
        if archive.peek() is None:
            archive.close()
            self._archive = None
        return merged

    async def _check_next(self, item: _Item, applied: int) -> None:
        """``item`` comes right after ``applied``, or every position between is a confirmed hole
        (asked of the stream only then: a log without holes never asks)."""
        if (item.position != applied + 1 and not item.archived
                and not await self._is_hole(applied, item.position)):
            raise _OutOfOrder(f"expected {applied + 1}, got {item.position}")

    async def _is_hole(self, applied: int, incoming: int) -> bool:
        """Nothing the projection must see lies between ``applied`` and ``incoming``: the stream
        holds nothing there, and no archive does that this runner has not merged in."""
        if await self._first_in_stream_after(applied) != incoming:
            return False
        if self._archive is not None:
            return True  # merged: whatever it holds before ``incoming`` came first
        manifests = await ArchiveShelf(self.nc).manifests(self.projection.context)
        return not any(m.first_position < incoming and m.last_position > applied
                       for m in manifests)

    async def _first_in_stream_after(self, position: int) -> int | None:
        try:
            found = await self.js.get_msg(
                stream_name(self.projection.context), seq=position + 1, next=True,
                subject=context_subjects(self.projection.context))
        except NotFoundError:
            return None
        return found.seq

    async def _nothing_left(self) -> bool:
        return self._archive is None and await self._first_in_stream_after(self.position) is None

    async def _notify(self) -> None:
        async with self._advanced:
            self._advanced.notify_all()

    async def close(self) -> None:
        """Stop fetching (the durable consumer stays, for the next start)."""
        if self._feed is not None:
            await self._feed.stop()
            self._feed = None
        if self._archive is not None:
            self._archive.close()
            self._archive = None

    async def _reset_consumer(self) -> None:
        """(Re)create the durable consumer to deliver from the checkpoint on, in order."""
        stream = stream_name(self.projection.context)
        await self.close()
        try:
            await self.js.delete_consumer(stream, self.durable)
        except NotFoundError:
            pass
        info = await self.js.stream_info(stream)
        head = info.state.last_seq
        self._checkpoint.set(self.position)
        self._lag.set(max(0, head - self.position))
        self._archive = await ArchiveReplay.open(self.nc, self.projection.context, self.position)
        if (self.replay_reader_from is not None and not self._reader_failed
                and head - self.position >= self.replay_reader_from
                and self.nc.connected_url is not None):
            self._feed = ReplayFeed(ReadTask.of_connection(
                self.nc, stream=stream, subjects=context_subjects(self.projection.context),
                first=self.position + 1, last=head, batch=self.replay_batch_size))
            await self._feed.start()
            log.info("projection %s: replaying %d events with a reader process",
                     self.name, head - self.position)
            return
        await self._ensure_indexes()
        await self.js.add_consumer(
            stream,
            ConsumerConfig(
                durable_name=self.durable,
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
                opt_start_seq=self.position + 1,
                ack_policy=AckPolicy.ALL,
                ack_wait=30,
                max_ack_pending=self.batch_size * 4,
                filter_subject=context_subjects(self.projection.context),
            ),
        )
        self._feed = PullFeed(self.nc, stream, self.durable, self.batch_size, self.fetch_timeout)
        await self._feed.start()
        if self._stopping is not None and self._stopping.is_set():
            self._feed.wake()

    async def _reset_consumer_quietly(self) -> None:
        try:
            await self._reset_consumer()
        except Exception as error:  # noqa: BLE001 - NATS down too: the next step retries
            log.warning("projection %s: cannot reset consumer yet (%s)", self.name, error)
