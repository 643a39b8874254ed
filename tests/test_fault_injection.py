"""Fault injection on the dossier projection, against a real nats-server and real SQL.

- a projection *process* SIGKILLed while a batch is written (twice), then restarted;
- events delivered twice and out of batch order (a consumer redelivering, holding back,
  shuffling batches; a publisher retrying with the same Msg-Id; two consumers at once);
- malformed messages on the dossier subjects while the projection runs.

In every case the read model ends with each acknowledged event counted exactly once: one row
per dossier at the right version, one history row per event, the report form's figures equal
to what was written, nothing parked that was valid. (The nats-server killed mid-appends is
libs/runtime/tests/test_crash_durability.py.)
"""

import asyncio
import itertools
import json
import os
import random
import signal
import sys
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import nats
import pytest
from sqlalchemy import func, select

from cchc.contracts.dossier import Channel, OnlineLevel, Outcome
from cchc.contracts.dossier_commands import ReceiveDossier, ResolveDossier
from cchc.contracts.envelope import EventEnvelope
from cchc.dossier import statistics, tables
from cchc.dossier.domain import model
from cchc.dossier.domain.calendar import WorkingCalendar
from cchc.dossier.domain.reference import Procedure
from cchc.dossier.projections import DossierReadModel
from cchc.runtime import checkpoints
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream

CONTEXT = "dossier"
AGENCY = "S1"
VN = WorkingCalendar()
PROCEDURE = Procedure(code="P", name="P", agency=AGENCY, field="f", processing_days=5,
                      online_level=OnlineLevel.FULL)
START = datetime(2022, 1, 3, 2, 0, tzinfo=UTC)  # Monday 09:00 in Hanoi
YEAR = (date(2022, 1, 1), date(2022, 12, 31))
READ_MODEL = DossierReadModel.name


@pytest.fixture
def server(tmp_path):
    """A nats-server of this test alone: its log holds exactly what the test wrote."""
    with NatsServer(store_dir=tmp_path / "nats") as running:
        yield running


@pytest.fixture
async def client(server):
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    yield nc
    await nc.close()


@dataclass
class Written:
    """What the log holds: the read model must show exactly this."""

    versions: dict[str, int] = field(default_factory=dict)  # dossier id -> its last version
    positions: list[int] = field(default_factory=list)  # every dossier event's position
    resolved: int = 0

    @property
    def last(self) -> int:
        return max(self.positions)

    def add(self, other: "Written") -> None:
        self.versions.update(other.versions)
        self.positions += other.positions
        self.resolved += other.resolved


async def append_dossiers(nc, count: int, first: int = 0, concurrency: int = 16) -> Written:
    """``count`` dossiers received through the event store; every other one resolved."""
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store, written = EventStore(nc), Written()
    meta = Metadata(actor="fault-test", correlation_id="c")

    async def one(i: int) -> None:
        dossier_id = new_id()
        received_at = START + timedelta(hours=7 * i)
        received = model.receive(dossier_id, ReceiveDossier(
            procedure="P", channel=list(Channel)[i % 3], received_at=received_at,
            applicant={"name": f"Công dân {i}"}), PROCEDURE, VN)
        history = AggregateHistory(CONTEXT, dossier_id)
        appended = await store.append(history, received, agency=AGENCY,
                                      occurred_at=received_at, meta=meta)
        written.positions.append(appended.position)
        written.versions[dossier_id] = 1
        if i % 2:
            return
        resolved_at = received_at + timedelta(days=2)
        resolution = model.resolve(model.replay([received]), ResolveDossier(
            resolved_at=resolved_at, outcome=Outcome.APPROVED))
        appended = await store.append(history.followed_by(appended.envelope), resolution,
                                      agency=AGENCY, occurred_at=resolved_at, meta=meta)
        written.positions.append(appended.position)
        written.versions[dossier_id] = 2
        written.resolved += 1

    indexes = iter(range(first, first + count))

    async def worker() -> None:
        for i in indexes:
            await one(i)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return written


async def read_model_state(engine) -> dict:
    async with engine.connect() as conn:
        dossiers = {row.id: (row.version, row.status) for row in await conn.execute(
            select(tables.dossiers.c.id, tables.dossiers.c.version, tables.dossiers.c.status))}
        history = [p for (p,) in await conn.execute(
            select(tables.history.c.position).order_by(tables.history.c.position))]
        due_periods = (await conn.execute(
            select(func.count()).select_from(tables.due_periods))).scalar()
        checkpoint = await checkpoints.read_checkpoint_only(conn, READ_MODEL)
        parked = {row.position: row.error for row in await conn.execute(
            select(checkpoints.parked_events).where(
                checkpoints.parked_events.c.projection == READ_MODEL))}
        stats = (await statistics.dossier_stats(conn, None, *YEAR)).get(AGENCY)
    return {"dossiers": dossiers, "history": history, "due_periods": due_periods,
            "checkpoint": checkpoint, "parked": parked, "stats": stats}


def assert_counted_exactly_once(state: dict, written: Written) -> None:
    assert state["checkpoint"] == written.last
    assert state["dossiers"] == {
        dossier_id: (version, "resolved" if version == 2 else "in_progress")
        for dossier_id, version in written.versions.items()
    }
    assert state["history"] == sorted(written.positions)  # one row per event, none missing
    assert state["due_periods"] == len(written.versions)
    received, resolved = len(written.versions), written.resolved
    stats = state["stats"]
    assert stats["received"]["total"] == received
    assert sum(stats["received"][c] for c in ("online", "direct", "postal")) == received
    assert stats["resolved"]["total"] == resolved
    assert stats["in_progress"]["total"] == received - resolved


# --- a projection process SIGKILLed mid-batch -----------------------------------------------

# The dossier projection in a process of its own. With a delay, it says when a batch's rows are
# written and its transaction is still open, then waits there: the moment the test kills it.
PROJECTION_PROCESS = r"""
import asyncio, signal, sys
import nats
from cchc.dossier.projections import DossierReadModel
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine

url, database, delay, batch = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])

class SlowReadModel(DossierReadModel):
    async def apply_batch(self, conn, envelopes):
        await super().apply_batch(conn, envelopes)
        if delay and envelopes:
            print(f"WRITTEN {envelopes[0].position} {envelopes[-1].position}", flush=True)
            await asyncio.sleep(delay)

async def main():
    nc = await nats.connect(url)
    engine = create_engine(database)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await ProjectionRunner(nc, engine, SlowReadModel(), batch_size=batch).run(stop)
    await nc.close()
    await engine.dispose()

asyncio.run(main())
"""


async def start_projection_process(server, database: str, delay: float, batch: int):
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", PROJECTION_PROCESS, server.url, database, str(delay), str(batch),
        stdout=asyncio.subprocess.PIPE,
    )


async def kill_while_writing(process, nth_batch: int) -> tuple[int, int]:
    """SIGKILL the process while its ``nth_batch``-th batch is written but not committed;
    returns the (first, last) position of the last batch it committed."""
    committed = (0, 0)
    for n in range(1, nth_batch + 1):
        line = await asyncio.wait_for(process.stdout.readline(), 20)
        assert line.startswith(b"WRITTEN"), line
        first, last = map(int, line.split()[1:])
        if n < nth_batch:
            committed = (first, last)
    os.kill(process.pid, signal.SIGKILL)
    assert await asyncio.wait_for(process.wait(), 10) == -signal.SIGKILL
    return committed


async def test_a_projection_process_killed_mid_batch_twice_counts_every_event_once(
    server, client, db_url
):
    written = await append_dossiers(client, 600)  # 900 events, batches of 100
    engine = create_engine(db_url)
    try:
        for nth_batch in (3, 2):  # killed in its 3rd batch, restarted, killed in its 2nd
            before = (await read_model_state(engine))["checkpoint"] if nth_batch == 2 else 0
            process = await start_projection_process(server, db_url, delay=0.3, batch=100)
            _, committed = await kill_while_writing(process, nth_batch)
            state = await read_model_state(engine)
            # The batch being written is gone with the process; the ones before it stay.
            assert state["checkpoint"] == committed > before
            assert state["history"] == [p for p in sorted(written.positions) if p <= committed]
        process = await start_projection_process(server, db_url, delay=0, batch=100)
        try:
            for _ in range(300):
                if (await read_model_state(engine))["checkpoint"] >= written.last:
                    break
                await asyncio.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(process.wait(), 15) == 0
        state = await read_model_state(engine)
        assert_counted_exactly_once(state, written)
        assert state["parked"] == {}
    finally:
        await engine.dispose()


# --- events delivered twice and out of batch order ------------------------------------------


class RedeliveringFeed:
    """Wraps the runner's pull feed: real messages from the server, delivered badly.

    For its first ``budget`` batches, in turn: earlier messages again before the new ones (a
    redelivery), a batch twice over, a later batch before an earlier one (the earlier comes back
    later as a stale redelivery), a batch shuffled, a batch as sent.
    """

    def __init__(self, runner: "RedeliveringRunner", real) -> None:
        self.runner = runner
        self.real = real

    def __getattr__(self, name: str):  # what the runner asks of a feed besides these
        return getattr(self.real, name)

    async def stop(self) -> None:
        await self.real.stop()

    async def acknowledge(self, last) -> None:
        await self.real.acknowledge(last)

    async def take(self, timeout: float):
        chaos, batch = self.runner, self.real.batch
        msgs = await self.real.take(timeout)
        if not msgs or chaos.budget <= 0:
            return self._remember(msgs)
        chaos.budget -= 1
        kind = next(chaos.schedule)
        if kind == "as-sent":
            return self._remember(msgs)
        if kind == "again" and chaos.delivered:
            old = chaos.rng.sample(chaos.delivered, min(len(chaos.delivered), batch // 2))
            chaos.counts["redelivered"] += len(old)
            return old + self._remember(msgs)
        if kind == "twice":
            chaos.counts["redelivered"] += len(msgs)
            return self._remember(msgs) + list(msgs)
        if kind == "later-first":
            later = await self.real.take(timeout)
            if not later:
                return self._remember(msgs)
            chaos.counts["out_of_order"] += 1
            chaos.delivered.extend(msgs)  # handed back later, as a stale redelivery
            return self._remember(later)
        chaos.counts["out_of_order"] += 1
        shuffled = list(msgs)
        chaos.rng.shuffle(shuffled)
        return self._remember(shuffled)

    def _remember(self, msgs: list) -> list:
        self.runner.delivered.extend(msgs)
        return msgs


class RedeliveringRunner(ProjectionRunner):
    def __init__(self, *args, seed: int, budget: int, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.rng = random.Random(seed)
        self.schedule = itertools.cycle(["again", "twice", "later-first", "shuffled", "as-sent"])
        self.budget = budget
        self.delivered: list = []
        self.counts: Counter = Counter()

    async def _reset_consumer(self) -> None:
        await super()._reset_consumer()
        self._feed = RedeliveringFeed(self, self._feed)


async def test_events_delivered_twice_and_out_of_batch_order_are_counted_once(client, db_url):
    written = await append_dossiers(client, 150)
    # A publisher retrying with the same Msg-Id (after a lost ack): the log keeps one copy.
    js, store = client.jetstream(), EventStore(client)
    for position in written.positions[:5]:
        stored = await store.get(CONTEXT, position)
        subject = f"cchc.{CONTEXT}.{AGENCY}.{stored.aggregate_id}"
        ack = await js.publish(subject, stored.to_bytes(), stream="DOSSIER",
                               headers={"Nats-Msg-Id": stored.event_id})
        assert ack.duplicate and ack.seq == position
    assert await store.last_position(CONTEXT) == written.last

    engine = create_engine(db_url)
    runner = RedeliveringRunner(client, engine, DossierReadModel(), batch_size=20,
                                fetch_timeout=0.3, seed=7, budget=40)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        more = await append_dossiers(client, 50, first=150)  # some arrive while it runs
        written.add(more)
        assert await runner.wait_for(written.last, timeout=30)
    finally:
        stop.set()
        await asyncio.wait_for(task, 15)
    assert runner.counts["redelivered"] > 20 and runner.counts["out_of_order"] > 3, runner.counts
    state = await read_model_state(engine)
    await engine.dispose()
    assert_counted_exactly_once(state, written)
    assert state["parked"] == {}


@pytest.mark.postgres
async def test_two_consumers_delivering_every_event_into_one_database_count_it_once(
    client, postgres_url
):
    """A replica that lost its lease but still runs, next to the new active one: every event
    comes twice, in overlapping batches of different sizes, into the same tables."""
    written = await append_dossiers(client, 300)
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    runners = [
        ProjectionRunner(client, engines[0], DossierReadModel(), batch_size=7, consumer_name="a"),
        ProjectionRunner(client, engines[1], DossierReadModel(), batch_size=11, consumer_name="b"),
    ]
    await runners[0].setup()  # the tables exist, as once the first replica has started
    reached = await asyncio.wait_for(asyncio.gather(*(r.catch_up() for r in runners)), 60)
    assert reached == [written.last, written.last]
    state = await read_model_state(engines[0])
    for engine in engines:
        await engine.dispose()
    assert_counted_exactly_once(state, written)
    assert state["parked"] == {}


# --- malformed messages on an event subject -------------------------------------------------


def envelope_bytes(event_type: str, payload: dict) -> bytes:
    now = datetime.now(UTC)
    return EventEnvelope(
        event_id=new_id(), type=event_type, schema_version=1, context=CONTEXT, agency=AGENCY,
        aggregate_id="bad1", aggregate_version=1, occurred_at=now, recorded_at=now,
        actor="someone", correlation_id="c", payload=payload,
    ).to_bytes()


async def test_malformed_messages_are_parked_with_a_log_line_and_the_projection_goes_on(
    client, db_url, caplog
):
    written = await append_dossiers(client, 20)
    engine = create_engine(db_url)
    runner = ProjectionRunner(client, engine, DossierReadModel(), batch_size=50,
                              fetch_timeout=0.3)
    stop = asyncio.Event()
    with caplog.at_level("INFO", logger="cchc.projection"):
        task = asyncio.create_task(runner.run(stop))
        try:
            assert await runner.wait_for(written.last, timeout=15)
            js, subject = client.jetstream(), f"cchc.{CONTEXT}.{AGENCY}.bad1"
            bad = {
                "garbage bytes": b"\x00\xff{not json",
                "JSON, not an envelope": json.dumps({"hello": "world", "type": 3}).encode(),
                "an envelope whose payload breaks its schema": envelope_bytes(
                    "DossierReceived", {"dossier_id": "bad1", "processing_days": "many"}),
            }
            parked_at = {}
            for what, data in bad.items():
                parked_at[(await js.publish(subject, data, stream="DOSSIER")).seq] = what
                written.add(await append_dossiers(client, 3, first=100 + len(parked_at)))
            # A type this version does not know (a newer producer's): skipped, not parked.
            unknown = await js.publish(
                f"cchc.{CONTEXT}.{AGENCY}.bad2",
                envelope_bytes("DossierTeleported", {"to": "Mars"}), stream="DOSSIER")
            written.add(await append_dossiers(client, 5, first=200))
            assert await runner.wait_for(written.last, timeout=20)
        finally:
            stop.set()
            await asyncio.wait_for(task, 15)
    state = await read_model_state(engine)
    await engine.dispose()

    assert_counted_exactly_once(state, written)
    assert set(state["parked"]) == set(parked_at)  # the three bad ones, and nothing valid
    assert unknown.seq not in state["parked"] and "bad1" not in state["dossiers"]
    reasons = {parked_at[position]: error for position, error in state["parked"].items()}
    assert reasons["garbage bytes"].startswith("malformed event")
    assert reasons["JSON, not an envelope"].startswith("malformed event")
    assert reasons["an envelope whose payload breaks its schema"].startswith("ValidationError")
    for position, what in parked_at.items():
        line = f"projection {READ_MODEL} PARKED event at position {position} on {subject}"
        assert line in caplog.text, f"no log line for {what}"
