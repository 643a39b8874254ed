"""The projection runner against a real nats-server and real SQL (SQLite and PostgreSQL)."""

import asyncio
import gc
import logging
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Column, Index, Integer, MetaData, String, Table, exc, func, inspect, select
from sqlalchemy.dialects import postgresql, sqlite

from cchc.contracts.dossier import CalendarDayDeclared, DayKind
from cchc.contracts.envelope import EventEnvelope
from cchc.runtime import checkpoints
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.replay_reader import ReplayFeed
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream
from cchc.runtime.waiting import cancel_and_wait, wait_at_most

CONTEXT = "dossier"


class CountingProjection:
    """Counts applications per event position: any double count shows as a 2."""

    context = CONTEXT

    def __init__(
        self, name: str, fail_at: dict[int, BaseException] | None = None, delay=0.0,
        table: str | None = None,
    ):
        self.name = name
        self.metadata = MetaData()
        self.table = Table(
            table or f"applied_{name}", self.metadata,
            Column("position", Integer, primary_key=True),
            Column("times", Integer, nullable=False),
            Column("note", String(50)),
        )
        self.fail_at = fail_at or {}
        self.delay = delay

    async def apply(self, conn, envelope: EventEnvelope) -> None:
        if envelope.position in self.fail_at:
            error = self.fail_at[envelope.position]
            if not isinstance(error, ValueError):  # transient: fail once only
                del self.fail_at[envelope.position]
            raise error
        if self.delay:
            await asyncio.sleep(self.delay)
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        statement = insert(self.table).values(position=envelope.position, times=1, note=envelope.type)
        await conn.execute(
            statement.on_conflict_do_update(
                index_elements=["position"], set_={"times": self.table.c.times + 1}
            )
        )


async def publish_events(nc, count: int) -> list[int]:
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store = EventStore(nc)
    positions = []
    for i in range(count):
        appended = await store.append(
            AggregateHistory(CONTEXT, new_id()),
            CalendarDayDeclared(date=date(2022, 1, 1 + i % 28), kind=DayKind.DAY_OFF, note="n"),
            agency="_province", occurred_at=datetime.now(UTC),
            meta=Metadata(actor="t", correlation_id="c"),
        )
        positions.append(appended.position)
    return positions


async def applied(engine, projection) -> dict[int, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(projection.table.c.position, projection.table.c.times))
        return dict(rows.all())


async def test_projection_applies_every_event_once_and_checkpoints(nc, db_url):
    await publish_events(nc, 30)
    engine = create_engine(db_url)
    projection = CountingProjection(f"p{new_id()[:8]}")
    runner = ProjectionRunner(nc, engine, projection, batch_size=7)
    last = await runner.catch_up()
    rows = await applied(engine, projection)
    assert last == await EventStore(nc).last_position(CONTEXT)
    assert len(rows) == last and set(rows.values()) == {1}
    # A second runner on the same checkpoint re-applies nothing.
    await ProjectionRunner(nc, engine, projection, batch_size=7).catch_up()
    assert set((await applied(engine, projection)).values()) == {1}
    await engine.dispose()


async def test_a_new_version_of_a_projection_replays_into_fresh_tables(nc, db_url):
    """A plain runner, one namespace: the new name replaces the old tables in place. (The
    services run a new version beside the serving one: test_projection_upgrade.py.)"""
    await publish_events(nc, 12)
    target = await EventStore(nc).last_position(CONTEXT)
    engine = create_engine(db_url)
    table = f"applied_{new_id()[:8]}"
    await ProjectionRunner(nc, engine, CountingProjection("v-test-v1", table=table)).catch_up()
    # v2 keeps the table names but not their meaning: it must not fold onto v1's rows.
    v2 = CountingProjection(f"v-test-v2-{table}", table=table)
    await ProjectionRunner(nc, engine, v2, batch_size=5).catch_up()
    rows = await applied(engine, v2)
    assert len(rows) == target and set(rows.values()) == {1}
    # Its next start keeps what it built and goes on from its checkpoint.
    again = ProjectionRunner(nc, engine, v2)
    await again.setup()
    assert again.position == target and len(await applied(engine, v2)) == target
    await publish_events(nc, 2)
    await again.catch_up()
    rows = await applied(engine, v2)
    assert len(rows) == target + 2 and set(rows.values()) == {1}
    await engine.dispose()


async def test_a_projection_killed_mid_batch_resumes_without_loss_or_double_count(nc, db_url):
    await publish_events(nc, 40)
    engine = create_engine(db_url)
    name = f"p{new_id()[:8]}"
    slow = CountingProjection(name, delay=0.01)
    runner = ProjectionRunner(nc, engine, slow, batch_size=25)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await asyncio.sleep(0.5)  # inside some batch
    assert await cancel_and_wait(task) and task.cancelled()
    reached = runner.position
    target = await EventStore(nc).last_position(CONTEXT)
    assert reached < target
    resumed = ProjectionRunner(nc, engine, CountingProjection(name), batch_size=25)
    await resumed.catch_up()
    rows = await applied(engine, slow)
    assert len(rows) == target and set(rows.values()) == {1}
    await engine.dispose()


async def test_a_failing_batch_is_retried_not_dropped(nc, db_url):
    positions = await publish_events(nc, 10)
    engine = create_engine(db_url)
    failing = {positions[3]: exc.OperationalError("db", {}, Exception("database is locked"))}
    projection = CountingProjection(f"p{new_id()[:8]}", fail_at=failing)
    runner = ProjectionRunner(nc, engine, projection, batch_size=4)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    assert await runner.wait_for(positions[-1], timeout=15)
    stop.set()
    await asyncio.wait_for(task, 10)
    rows = await applied(engine, projection)
    assert all(rows.get(p) == 1 for p in positions)
    async with engine.connect() as conn:
        parked = (await conn.execute(select(func.count()).select_from(checkpoints.parked_events))).scalar()
    assert parked == 0
    await engine.dispose()


async def test_a_poison_event_is_parked_and_the_projection_goes_on(nc, db_url, caplog):
    positions = await publish_events(nc, 3)
    ack = await nc.jetstream().publish("cchc.dossier.X.bad", b"{not json", stream="DOSSIER")
    positions += await publish_events(nc, 3)
    engine = create_engine(db_url)
    projection = CountingProjection(f"p{new_id()[:8]}", fail_at={positions[1]: ValueError("bug")})
    runner = ProjectionRunner(nc, engine, projection, batch_size=50)
    with caplog.at_level("ERROR", logger="cchc.projection"):
        await runner.catch_up()
    rows = await applied(engine, projection)
    assert all(rows.get(p) == 1 for p in positions if p != positions[1])
    assert positions[1] not in rows
    async with engine.connect() as conn:
        parked = dict((await conn.execute(
            select(checkpoints.parked_events.c.position, checkpoints.parked_events.c.error)
            .where(checkpoints.parked_events.c.projection == projection.name)
        )).all())
    assert {positions[1], ack.seq} <= set(parked)  # the shared log holds earlier garbage too
    assert "malformed event" in parked[ack.seq]
    assert f"PARKED event at position {ack.seq}" in caplog.text
    await engine.dispose()


async def test_drop_and_rebuild_gives_the_same_rows(nc, db_url):
    await publish_events(nc, 12)
    engine = create_engine(db_url)
    projection = CountingProjection(f"p{new_id()[:8]}")
    runner = ProjectionRunner(nc, engine, projection)
    await runner.catch_up()
    before = await applied(engine, projection)
    await runner.drop()
    seen = []
    await runner.catch_up(progress=lambda done, total: seen.append((done, total)))
    assert await applied(engine, projection) == before
    assert seen and seen[-1][0] == seen[-1][1]
    await engine.dispose()


@pytest.mark.postgres
async def test_two_replicas_of_a_projection_apply_every_event_once_even_when_the_active_one_dies(
    nc, postgres_url
):
    """Replicas share one database: one holds the lease and applies, the other stands by and
    takes over when the first dies; no event is applied twice and none is skipped."""
    name = f"p{new_id()[:8]}"
    engines = [create_engine(postgres_url), create_engine(postgres_url)]
    projection = CountingProjection(name)
    runners = [ProjectionRunner(nc, engine, CountingProjection(name), batch_size=5,
                                consumer_name=f"shared-{name}") for engine in engines]
    stops = [asyncio.Event(), asyncio.Event()]
    tasks = [asyncio.create_task(r.run(s)) for r, s in zip(runners, stops, strict=True)]
    positions = await publish_events(nc, 20)
    assert await runners[0].wait_for(positions[-1], 15)
    active = next(i for i, r in enumerate(runners) if r.lease and r.lease.held)
    standby = 1 - active
    assert not runners[standby].lease.held
    # The active replica dies: its task is cancelled and its database session ends.
    assert await cancel_and_wait(tasks[active])
    await engines[active].dispose()
    positions += await publish_events(nc, 20)
    assert await runners[standby].wait_for(positions[-1], 20)
    assert runners[standby].lease.held
    stops[standby].set()
    await asyncio.wait_for(tasks[standby], 10)
    rows = await applied(engines[standby], projection)
    assert set(rows) >= set(positions)
    assert set(rows.values()) == {1}
    await engines[standby].dispose()


# A replay read by a process of its own (cchc.runtime.replay_reader) stays exactly-once: whatever
# dies, when, the rows end the same, and the projection goes on with its consumer after it.


async def rows_without_reader(nc, engine) -> dict[int, int]:
    """What a projection of the whole log holds when it reads the log itself: the reference (the
    shared log holds events other tests made malformed on purpose; those are parked, not rows)."""
    projection = CountingProjection(f"p{new_id()[:8]}")
    await ProjectionRunner(nc, engine, projection, replay_reader_from=None).catch_up()
    return await applied(engine, projection)


async def wait_until(condition, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def follow_live(nc, runner: ProjectionRunner, events: int) -> None:
    """Run ``runner`` until it follows the log with its durable consumer, publish ``events``
    more, and stop it once it has applied them."""
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await wait_until(lambda: runner._feed is not None and not isinstance(runner._feed, ReplayFeed))
    await publish_events(nc, events)
    head = await EventStore(nc).last_position("dossier")
    await wait_until(lambda: runner.position >= head)
    stop.set()
    await task


async def test_a_runner_idle_at_the_head_stops_at_once_when_told(nc, db_url):
    """A service stops its projections one after another: each must not sit out its wait for
    events that are not coming (here 30 s)."""
    engine = create_engine(db_url)
    projection = CountingProjection(f"p{new_id()[:8]}")
    runner = ProjectionRunner(nc, engine, projection, fetch_timeout=30.0, replay_reader_from=None)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    positions = await publish_events(nc, 3)
    assert await runner.wait_for(positions[-1], 15)
    await asyncio.sleep(0.3)  # waiting for the next event now
    assert not task.done()
    stop.set()
    assert await wait_at_most(asyncio.shield(task), 5.0), "the runner sat out its fetch timeout"
    await task
    assert set((await applied(engine, projection)).values()) == {1}
    await engine.dispose()


async def test_a_replay_read_by_a_reader_process_applies_every_event_once(nc, db_url, caplog):
    await publish_events(nc, 60)
    target = await EventStore(nc).last_position("dossier")
    engine = create_engine(db_url)
    projection = CountingProjection(f"p{new_id()[:8]}")
    runner = ProjectionRunner(nc, engine, projection, batch_size=7, replay_reader_from=1,
                              replay_batch_size=7)
    with caplog.at_level(logging.INFO, logger="cchc.projection"):
        assert await runner.catch_up() == target
    assert "with a reader process" in caplog.text
    assert await applied(engine, projection) == await rows_without_reader(nc, engine)
    # Once its reader has read up to the head it follows the log with its durable consumer.
    await follow_live(nc, runner, 5)
    assert await applied(engine, projection) == await rows_without_reader(nc, engine)
    await engine.dispose()


class CollectorWatchingProjection(CountingProjection):
    """Notes, for each event it applies, whether the garbage collector may run."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.collector_on: list[bool] = []

    async def apply(self, conn, envelope: EventEnvelope) -> None:
        self.collector_on.append(gc.isenabled())
        await super().apply(conn, envelope)


async def test_a_replay_batch_runs_with_the_collector_paused_a_live_one_without(nc, db_url):
    await publish_events(nc, 30)
    engine = create_engine(db_url)
    projection = CollectorWatchingProjection(f"p{new_id()[:8]}")
    runner = ProjectionRunner(nc, engine, projection, batch_size=5, replay_reader_from=1,
                              replay_batch_size=10)
    assert gc.isenabled()
    await runner.catch_up()
    assert projection.collector_on and not any(projection.collector_on)
    assert gc.isenabled()  # on again once the replay's last batch is written
    projection.collector_on.clear()
    await follow_live(nc, runner, 3)
    assert projection.collector_on and all(projection.collector_on)
    assert await applied(engine, projection) == await rows_without_reader(nc, engine)
    await engine.dispose()


async def test_the_reader_process_killed_mid_replay_loses_and_repeats_nothing(nc, db_url):
    await publish_events(nc, 80)
    target = await EventStore(nc).last_position("dossier")
    engine = create_engine(db_url)
    projection = CountingProjection(f"p{new_id()[:8]}", delay=0.002)
    runner = ProjectionRunner(nc, engine, projection, batch_size=5, replay_reader_from=1,
                              replay_batch_size=5)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    await wait_until(lambda: isinstance(runner._feed, ReplayFeed)
                     and runner._feed._process is not None)
    feed = runner._feed
    assert isinstance(feed, ReplayFeed) and feed._process is not None
    feed._process.kill()  # before it has sent anything (its start takes longer than this)
    await wait_until(lambda: runner.position >= target, timeout=60)
    assert feed.finished and not feed.complete
    assert runner._feed is not None and not isinstance(runner._feed, ReplayFeed)
    stop.set()
    await task
    assert await applied(engine, projection) == await rows_without_reader(nc, engine)
    await engine.dispose()


async def test_a_projection_killed_mid_replay_resumes_and_leaves_no_reader_behind(nc, db_url):
    await publish_events(nc, 60)
    target = await EventStore(nc).last_position("dossier")
    engine = create_engine(db_url)
    name = f"p{new_id()[:8]}"
    runner = ProjectionRunner(nc, engine, CountingProjection(name, delay=0.005), batch_size=5,
                              replay_reader_from=1, replay_batch_size=5)
    task = asyncio.create_task(runner.run(asyncio.Event()))
    await wait_until(lambda: runner.position > 5 and isinstance(runner._feed, ReplayFeed))
    feed = runner._feed
    assert isinstance(feed, ReplayFeed)
    process = feed._process
    assert process is not None
    assert await cancel_and_wait(task) and task.cancelled()
    assert runner.position < target
    assert process.returncode is not None  # stopped with the projection, not left running
    resumed = ProjectionRunner(nc, engine, CountingProjection(name), batch_size=5,
                               replay_reader_from=1)
    await resumed.catch_up()
    assert await applied(engine, CountingProjection(name)) == await rows_without_reader(nc, engine)
    await engine.dispose()


async def test_a_runner_whose_checkpoint_moved_meanwhile_applies_nothing_twice(
        nc, db_url, caplog):
    """A runner moves its checkpoint from where it left it with a compare-and-set, without
    reading it first. Another runner of the projection (a replica that held the lease
    meanwhile) moves it on: the first one's next batch, holding events the other applied, is
    undone and applied again from the stored checkpoint: nothing twice, nothing parked."""
    caplog.set_level(logging.DEBUG, logger="cchc.projection")
    name = f"p{new_id()[:8]}"
    engine = create_engine(db_url)
    projection = CountingProjection(name)
    first, other = (ProjectionRunner(nc, engine, CountingProjection(name), batch_size=50,
                                     consumer_name=f"{who}-{name}", replay_reader_from=None)
                    for who in ("first", "other"))
    await publish_events(nc, 3)
    await first.catch_up()
    assert first._known_checkpoint == first.position
    positions = await publish_events(nc, 10)
    assert await other.catch_up() == positions[-1]
    caplog.clear()  # the shared log's malformed events (other tests') are parked by now
    deadline = asyncio.get_running_loop().time() + 20
    while first.position < positions[-1]:
        assert asyncio.get_running_loop().time() < deadline, first.position
        await first.step()
    assert "batch from the known checkpoint failed" in caplog.text  # the CAS refused it
    assert "PARKED" not in caplog.text
    rows = await applied(engine, projection)
    assert [rows.get(p) for p in positions] == [1] * len(positions)
    assert first._known_checkpoint == positions[-1]
    await engine.dispose()


class IndexedProjection(CountingProjection):
    """Rows with a query index that a replay builds at its end, and a unique one it never
    goes without."""

    defer_indexes = True

    def __init__(self, name: str, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(name, **kwargs)
        self.query_index = f"ix_{name}_note"
        self.unique_index = f"ux_{name}_position_note"
        Index(self.query_index, self.table.c.note)
        Index(self.unique_index, self.table.c.position, self.table.c.note, unique=True)


async def index_names(engine, table: Table) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync: {index["name"] for index in inspect(sync).get_indexes(table.name)})


async def test_a_replay_builds_the_query_indexes_once_it_has_read_the_log(nc, db_url):
    await publish_events(nc, 40)
    head = await EventStore(nc).last_position("dossier")
    engine = create_engine(db_url)
    projection = IndexedProjection(f"p{new_id()[:8]}")
    runner = ProjectionRunner(nc, engine, projection, batch_size=10, replay_reader_from=1,
                              replay_batch_size=10)
    await runner.setup()
    await runner._reset_consumer()
    assert isinstance(runner._feed, ReplayFeed)
    assert await index_names(engine, projection.table) == {projection.unique_index}
    while runner.position < head:
        await runner.step()
    # Every event applied, the index not built yet: not caught up (an upgrade would switch
    # reads to tables without it).
    assert await index_names(engine, projection.table) == {projection.unique_index}
    assert not await runner.caught_up_with_head()
    await runner.step()  # the reader's end: the runner goes on with its consumer
    assert not isinstance(runner._feed, ReplayFeed)
    assert await index_names(engine, projection.table) == {projection.unique_index,
                                                           projection.query_index}
    assert await runner.caught_up_with_head()
    await runner.close()
    assert await applied(engine, projection) == await rows_without_reader(nc, engine)
    await engine.dispose()


async def test_a_replay_stopped_midway_gets_its_indexes_before_it_follows_the_log(nc, db_url):
    await publish_events(nc, 60)
    engine = create_engine(db_url)
    name = f"p{new_id()[:8]}"
    projection = IndexedProjection(name, delay=0.005)
    runner = ProjectionRunner(nc, engine, projection, batch_size=5, replay_reader_from=1,
                              replay_batch_size=5)
    task = asyncio.create_task(runner.run(asyncio.Event()))
    await wait_until(lambda: runner.position > 5 and isinstance(runner._feed, ReplayFeed))
    assert await cancel_and_wait(task) and task.cancelled()
    assert projection.query_index not in await index_names(engine, projection.table)
    # Started again close enough to the head to read the log itself: indexes first.
    resumed = ProjectionRunner(nc, engine, IndexedProjection(name), batch_size=5,
                               replay_reader_from=None)
    stop = asyncio.Event()
    task = asyncio.create_task(resumed.run(stop))
    await wait_until(lambda: resumed._feed is not None)
    assert projection.query_index in await index_names(engine, projection.table)
    await wait_until(lambda: resumed.position >= runner.position + 1)
    stop.set()
    await task
    await resumed.catch_up()
    assert await applied(engine, projection) == await rows_without_reader(nc, engine)
    await engine.dispose()
