"""A new projection version replays beside the one that answers, and takes over without downtime.

Two replicas share one database, as in a rolling update: the *old* one runs version 1 of a
projection; the *new* one starts with version 2 (the same projection under a bumped name),
which replays the whole log into its own namespace while queries and writes keep coming. The
queries go through the new replica's read side all along: before the switch it answers from
version 1, after it from version 2. None may fail, none may see fewer rows than were written
before it asked, and a read that asks for the position of a write it just made sees that
write. Once the new version has served for the grace period, version 1's tables are gone.
"""

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, func, inspect, select, text
from sqlalchemy.dialects import postgresql, sqlite

from cchc.contracts.dossier import CalendarDayDeclared, DayKind
from cchc.runtime import checkpoints, projection_versions
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.projection_upgrade import Superseded, VersionedProjection
from cchc.runtime.read_pins import pinned_reads
from cchc.runtime.read_side import ReadSide
from cchc.runtime.reads import applied
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream
from cchc.runtime.version_stores import namespace_file, namespace_for
from cchc.runtime.waiting import cancel_and_wait

CONTEXT = "dossier"
READERS = 4
RETIRE_AFTER_S = 1.0


class Counting:
    """One row per event applied: a partial table shows as missing positions."""

    context = CONTEXT

    def __init__(self, name: str, table: str, delay: float = 0.0, slow_from: int = 0) -> None:
        self.name = name
        self.metadata = MetaData()
        self.table = Table(table, self.metadata,
                           Column("position", Integer, primary_key=True),
                           Column("times", Integer, nullable=False),
                           Column("note", String(50)))
        # A replay that takes a while: ``delay`` per event from position ``slow_from`` on (the
        # test's own events; the shared log's earlier ones, as many as the tests before made,
        # go at full speed, so a test lasts as long wherever it runs in the suite).
        self.delay = delay
        self.slow_from = slow_from

    async def apply(self, conn, envelope) -> None:
        if self.delay and envelope.position >= self.slow_from:
            await asyncio.sleep(self.delay)
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        await conn.execute(insert(self.table).values(position=envelope.position, times=1)
                           .on_conflict_do_update(index_elements=["position"],
                                                  set_={"times": self.table.c.times + 1}))


async def append(store: EventStore, day: int = 1) -> int:
    appended = await store.append(
        AggregateHistory(CONTEXT, new_id()),
        CalendarDayDeclared(date=date(2023, 1, 1 + day % 28), kind=DayKind.DAY_OFF, note="u"),
        agency="_province", occurred_at=datetime.now(UTC),
        meta=Metadata(actor="upgrade-test", correlation_id="c"))
    return appended.position


@dataclass
class Replica:
    """One process of one release: its engine, its read side, its version of the projection."""

    engine: object
    side: ReadSide
    version: VersionedProjection
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task | None = None

    @classmethod
    async def start(cls, nc, db_url: str, projection: Counting, batch_size: int = 500,
                    retire_after_s: float = RETIRE_AFTER_S):
        engine = create_engine(db_url)
        side = ReadSide(engine)
        version = VersionedProjection(ProjectionRunner(nc, engine, projection,
                                                       batch_size=batch_size),
                                      side, retire_after_s=retire_after_s)
        await version.setup()
        replica = cls(engine, side, version)
        replica.task = asyncio.create_task(version.run(replica.stop))
        return replica

    async def shut(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 15)
        await self.version.close()
        await self.side.close()
        await self.engine.dispose()


@dataclass
class Load:
    """What the queries saw."""

    errors: list[str] = field(default_factory=list)
    answers_before_switch: int = 0
    answers_after_switch: int = 0
    own_writes_seen: int = 0


def rows_table(name: str) -> Table:
    return Table(name, MetaData(), Column("position", Integer), Column("times", Integer))


async def rows_up_to(side: ReadSide, family: str, table: str, floor: int | None,
                     wanted: int | None) -> tuple[int, bool]:
    """One request: wait for ``floor`` (read-your-writes), then count the rows up to it (all
    of them without a floor, read at once), and whether the row of ``wanted`` is there. Two
    connections, as a query may open."""
    rows = rows_table(table)
    with pinned_reads():
        query = select(func.count()).select_from(rows)
        if floor is not None:
            await applied(side.runner(family), floor, "X-Min-Position")
            query = query.where(rows.c.position <= floor)
        async with side.engine.connect() as conn:
            count = (await conn.execute(query)).scalar_one()
        if wanted is None:
            return count, True
        async with side.engine.connect() as conn:
            seen = (await conn.execute(select(rows.c.position)
                                       .where(rows.c.position == wanted))).first()
        return count, seen is not None


async def test_a_new_version_replays_beside_the_old_one_and_takes_over_under_load(nc, db_url):
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store = EventStore(nc)
    first = min([await append(store, day) for day in range(300)])
    family, table = f"upgrade-{new_id()[-8:].lower()}", f"applied_{new_id()[-8:].lower()}"

    old = await Replica.start(nc, db_url, Counting(f"{family}-v1", table))
    head = await store.last_position(CONTEXT)
    assert await old.version.current.wait_for(head, 30)
    # What version 1 holds up to the head, before anything moves: no later answer may hold less.
    known = {head: (await rows_up_to(old.side, family, table, head, None))[0]}
    written: list[int] = []

    new = await Replica.start(nc, db_url, Counting(f"{family}-v2", table, delay=0.01, slow_from=first), 25)
    assert not new.version.switched
    status = new.version.status()
    assert status["serving"] == f"{family}-v1" and status["building"]["name"] == f"{family}-v2"

    load, done = Load(), asyncio.Event()
    seen_at_most = [known[head]]  # the largest count an answer without a floor has shown

    def floor_now() -> tuple[int, int]:
        """The latest position known written, and how many rows up to it must be there."""
        last = written[-1] if written else head
        return last, known[head] + sum(1 for p in written if p > head)

    def count(switched: bool) -> None:
        if switched:
            load.answers_after_switch += 1
        else:
            load.answers_before_switch += 1

    async def reader() -> None:
        while not done.is_set():
            floor, expected = floor_now()
            switched = new.version.switched
            try:
                rows, _ = await rows_up_to(new.side, family, table, floor, None)
                if rows < expected:
                    load.errors.append(f"partial answer: {rows} rows up to {floor}, "
                                       f"{expected} written")
                count(switched)
            except Exception as error:  # noqa: BLE001 - every failure is a finding
                load.errors.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(0.005)

    async def browser() -> None:
        """Reads at once, with no position to wait for (a dashboard): it may lag the log, but
        it never shows less than an answer before it showed."""
        while not done.is_set():
            before = seen_at_most[0]
            switched = new.version.switched
            try:
                rows, _ = await rows_up_to(new.side, family, table, None, None)
                if rows < before:
                    load.errors.append(f"went back: {rows} rows after {before}")
                seen_at_most[0] = max(seen_at_most[0], rows)
                count(switched)
            except Exception as error:  # noqa: BLE001
                load.errors.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(0.005)

    async def writer() -> None:
        day = 0
        while not done.is_set():
            day += 1
            position = await append(store, day)
            written.append(position)
            switched = new.version.switched
            try:
                _, seen = await rows_up_to(new.side, family, table, position, position)
                if not seen:
                    load.errors.append(f"own write at {position} not seen")
                load.own_writes_seen += 1
                count(switched)
            except Exception as error:  # noqa: BLE001
                load.errors.append(f"{type(error).__name__}: {error}")
            await asyncio.sleep(0.02)

    tasks = [asyncio.create_task(reader()) for _ in range(READERS)]
    tasks += [asyncio.create_task(browser()) for _ in range(READERS)]
    tasks.append(asyncio.create_task(writer()))
    deadline = time.monotonic() + 90
    while not new.version.switched and time.monotonic() < deadline and not load.errors:
        await asyncio.sleep(0.05)
    switched_at = time.monotonic()
    assert new.version.switched, load.errors[:5]
    while time.monotonic() - switched_at < 0.5:
        await asyncio.sleep(0.05)
    # The rollout ends: the replica of the old release goes away, within the grace period.
    await old.shut()
    while time.monotonic() - switched_at < RETIRE_AFTER_S + 3:
        await asyncio.sleep(0.1)
    done.set()
    await asyncio.gather(*tasks)

    assert load.errors == [], load.errors[:10]
    assert load.answers_before_switch > 0 and load.answers_after_switch > 0, load
    assert load.own_writes_seen > 5
    assert new.version.status() == {"serving": f"{family}-v2", "building": None,
                                    "position": new.version.current.position}

    # Version 1 is gone: its tables, its checkpoint and its row in the register.
    base = new.version.base
    async with base.connect() as conn:
        default_tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        register = (await conn.execute(select(projection_versions.versions.c.name)
                    .where(projection_versions.versions.c.family == family))).scalars().all()
        old_checkpoint = await checkpoints.exists(conn, f"{family}-v1")
    assert table not in default_tables
    assert register == [f"{family}-v2"] and not old_checkpoint
    # Version 2 counted every event once, and a restart keeps serving it without a replay.
    await new.shut()
    again = await Replica.start(nc, db_url, Counting(f"{family}-v2", table))
    assert again.version.switched and again.version.current.position >= written[-1]
    async with again.side.engine.connect() as conn:
        times = (await conn.execute(select(func.max(rows_table(table).c.times)))).scalar_one()
    assert times == 1
    await again.shut()


async def test_a_database_kept_before_versions_is_adopted_in_place(nc, db_url):
    """Rows written by a release that kept no register are served as they are, no replay."""
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store = EventStore(nc)
    for day in range(5):
        await append(store, day)
    name, table = f"adopt-{new_id()[-8:].lower()}-v3", f"applied_{new_id()[-8:].lower()}"
    engine = create_engine(db_url)
    legacy = ProjectionRunner(nc, engine, Counting(name, table))
    reached = await legacy.catch_up()  # the old release: tables and checkpoint in place
    await engine.dispose()

    replica = await Replica.start(nc, db_url, Counting(name, table))
    assert replica.version.switched and replica.version.namespace == ""
    assert replica.version.current.position == reached
    count, _ = await rows_up_to(replica.side, name.rsplit("-v", 1)[0], table, reached, None)
    assert count >= 5
    await replica.shut()


async def test_a_new_version_killed_mid_replay_resumes_from_its_own_checkpoint(nc, db_url):
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store = EventStore(nc)
    first = min([await append(store, day) for day in range(60)])
    family, table = f"resume-{new_id()[-8:].lower()}", f"applied_{new_id()[-8:].lower()}"
    old = await Replica.start(nc, db_url, Counting(f"{family}-v1", table))
    head = await store.last_position(CONTEXT)
    assert await old.version.current.wait_for(head, 30)

    crashed = await Replica.start(nc, db_url, Counting(f"{family}-v2", table, delay=0.05, slow_from=first), 10)
    deadline = time.monotonic() + 30
    while crashed.version.current.position < first + 20 and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    assert await cancel_and_wait(crashed.task)  # killed mid-replay
    await crashed.version.close()
    await crashed.side.close()
    await crashed.engine.dispose()
    reached = crashed.version.current.position
    assert 0 < reached < head and not crashed.version.switched

    resumed = await Replica.start(nc, db_url, Counting(f"{family}-v2", table), 10)
    assert resumed.version.current.position == reached  # its own checkpoint, in its namespace
    assert resumed.version.status()["serving"] == f"{family}-v1"
    deadline = time.monotonic() + 30
    while not resumed.version.switched and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert resumed.version.switched
    rows = rows_table(table)
    async with resumed.side.engine.connect() as conn:
        counted = (await conn.execute(select(func.count(), func.max(rows.c.times))
                                      .where(rows.c.position <= head))).one()
    async with old.side.engine.connect() as conn:  # version 1 keeps its rows meanwhile
        before = (await conn.execute(select(func.count())
                                     .where(rows.c.position <= head))).scalar_one()
    assert counted == (before, 1)
    await old.shut()
    await resumed.shut()


async def test_a_replica_of_the_release_before_restarting_mid_rollout_never_takes_back_over(
    nc, db_url
):
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store = EventStore(nc)
    for day in range(10):
        await append(store, day)
    family, table = f"forward-{new_id()[-8:].lower()}", f"applied_{new_id()[-8:].lower()}"
    # Retired versions kept long enough for this test: a busy CI machine once took over a second
    # from the switch to reading the register, and version 1 had been dropped meanwhile.
    keep = 120.0
    old = await Replica.start(nc, db_url, Counting(f"{family}-v1", table), retire_after_s=keep)
    new = await Replica.start(nc, db_url, Counting(f"{family}-v2", table), retire_after_s=keep)
    deadline = time.monotonic() + 30
    while not new.version.switched and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert new.version.switched
    await old.shut()

    restarted = await Replica.start(nc, db_url, Counting(f"{family}-v1", table),
                                    retire_after_s=keep)
    assert restarted.version.status()["serving"] == f"{family}-v1"  # its own tables, as before
    await restarted.version.look()
    async with new.version.base.connect() as conn:
        states = dict((await conn.execute(
            select(projection_versions.versions.c.name, projection_versions.versions.c.state)
            .where(projection_versions.versions.c.family == family))).all())
    assert states == {f"{family}-v1": "retired", f"{family}-v2": "serving"}
    await restarted.shut()
    await new.shut()


@pytest.mark.postgres
async def test_every_replica_of_the_new_release_switches_the_standby_too(nc, postgres_url):
    """Two replicas of the new release: one replays (it holds the lease), the other stands by
    and switches when the register says so, then waits on the shared checkpoint."""
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store = EventStore(nc)
    first = min([await append(store, day) for day in range(20)])
    family, table = f"standby-{new_id()[-8:].lower()}", f"applied_{new_id()[-8:].lower()}"
    old = await Replica.start(nc, postgres_url, Counting(f"{family}-v1", table))
    replicas = [await Replica.start(nc, postgres_url, Counting(f"{family}-v2", table, delay=0.1, slow_from=first),
                                    5) for _ in range(2)]
    deadline = time.monotonic() + 60
    while not all(r.version.switched for r in replicas) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert all(r.version.switched for r in replicas)
    assert sum(1 for r in replicas if r.version.current.lease.held) == 1
    position = await append(store)
    for replica in replicas:  # read-your-writes on either, against version 2
        count, seen = await rows_up_to(replica.side, family, table, position, position)
        assert seen and count >= 21
    await old.shut()
    for replica in replicas:
        await replica.shut()


async def namespace_exists(base, namespace: str) -> bool:  # type: ignore[no-untyped-def]
    if base.dialect.name == "postgresql":
        async with base.connect() as conn:
            return (await conn.execute(text(
                "SELECT 1 FROM information_schema.schemata WHERE schema_name = :ns"),
                {"ns": namespace})).first() is not None
    return namespace_file(base, namespace).exists()


async def test_a_version_overtaken_mid_replay_is_abandoned_then_dropped(nc, db_url):
    """Version 2 is still replaying when version 3 comes out (version 2's release rolled
    back, or followed at once by the next): version 3 takes over from version 1, version 2
    can never serve, and its half-built tables go with version 1's. A replica of version 2
    started afterwards refuses: it has nothing complete to answer from."""
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store = EventStore(nc)
    first = min([await append(store, day) for day in range(30)])
    family, table = f"overtaken-{new_id()[-8:].lower()}", f"applied_{new_id()[-8:].lower()}"
    keep = 120.0  # long enough to look at the register before anything is dropped
    old = await Replica.start(nc, db_url, Counting(f"{family}-v1", table), retire_after_s=keep)
    head = await store.last_position(CONTEXT)
    assert await old.version.current.wait_for(head, 30)
    slow = await Replica.start(nc, db_url, Counting(f"{family}-v2", table, delay=0.2, slow_from=first), 5,
                               retire_after_s=keep)
    deadline = time.monotonic() + 30
    while slow.version.current.position < first:
        assert time.monotonic() < deadline, "version 2 never began its replay"
        await asyncio.sleep(0.05)
    newest = await Replica.start(nc, db_url, Counting(f"{family}-v3", table),
                                 retire_after_s=keep)
    deadline = time.monotonic() + 30
    while not newest.version.switched:
        assert time.monotonic() < deadline, "version 3 never took over"
        await asyncio.sleep(0.05)
    assert not slow.version.switched and slow.version.current.position < head

    base = newest.version.base
    register = projection_versions.versions
    async with base.connect() as conn:
        states = dict((await conn.execute(select(register.c.name, register.c.state)
                                          .where(register.c.family == family))).all())
    assert states == {f"{family}-v1": "retired", f"{family}-v2": "abandoned",
                      f"{family}-v3": "serving"}
    await slow.shut()  # the rollout replaces it
    rows = rows_table(table)
    async with old.side.engine.connect() as conn:  # what version 1 had (a parked event: none)
        before = (await conn.execute(select(func.count())
                                     .where(rows.c.position <= head))).scalar_one()
    await old.shut()
    with pytest.raises(Superseded, match=f"{family}-v2 was overtaken by {family}-v3"):
        await Replica.start(nc, db_url, Counting(f"{family}-v2", table))
    await slow.engine.dispose()

    newest.version.retire_after_s = 0.0  # the grace period is over
    await newest.version.look()
    async with base.connect() as conn:
        left = (await conn.execute(select(register.c.name)
                                   .where(register.c.family == family))).scalars().all()
        checkpoints_left = [name for name in (f"{family}-v1", f"{family}-v2")
                            if await checkpoints.exists(conn, name)]
    assert left == [f"{family}-v3"] and checkpoints_left == []
    assert not await namespace_exists(base, namespace_for(f"{family}-v2"))
    count, _ = await rows_up_to(newest.side, family, table, head, None)
    assert count == before  # version 3 answers, whole
    await newest.shut()
