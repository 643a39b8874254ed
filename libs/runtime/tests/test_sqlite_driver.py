"""SQLite through the one-trip driver: SQLAlchemy's answers unchanged, one trip per statement,
and writers of one database taking turns instead of meeting SQLite's busy handler."""

import asyncio
from pathlib import Path

import aiosqlite
import pytest
from sqlalchemy import (
    Column, Integer, MetaData, String, Table, delete, exc, func, insert, select, text, update,
)
from sqlalchemy.ext.asyncio import create_async_engine

from cchc.runtime.sqldb import create_engine, write_turn
from cchc.runtime.sqlite_driver import defer_rows, one_trip_dbapi

metadata = MetaData()
rows = Table("rows", metadata, Column("id", Integer, primary_key=True),
             Column("name", String(20), nullable=False))


@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    engine = create_engine(f"sqlite:///{tmp_path / 'x.db'}")
    yield engine
    await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every function run in aiosqlite's thread, by name."""
    seen: list[str] = []
    original = aiosqlite.Connection._execute

    async def counted(self, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await original(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return seen


async def test_answers_are_sqlalchemys_own(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        first = await conn.execute(insert(rows).values(name="một"))
        assert first.inserted_primary_key == (1,)  # the cursor's lastrowid
        await conn.execute(insert(rows), [{"name": f"n{i}"} for i in range(2, 6)])
        changed = await conn.execute(update(rows).where(rows.c.id > 3).values(name="x"))
        assert changed.rowcount == 2
        result = await conn.execute(select(rows).order_by(rows.c.id))
        assert list(result.keys()) == ["id", "name"]  # the cursor's description
        assert [tuple(r) for r in result] == [(1, "một"), (2, "n2"), (3, "n3"), (4, "x"),
                                              (5, "x")]
        streamed = await conn.stream(select(rows.c.id).where(rows.c.id < 3))
        assert [r.id async for r in streamed] == [1, 2]
    async with engine.begin() as conn:
        with pytest.raises(exc.IntegrityError):
            await conn.execute(insert(rows).values(id=1, name="twice"))
    with pytest.raises(exc.OperationalError):
        async with engine.connect() as conn:
            await conn.execute(text("SELECT nothing FROM nowhere"))
    async with engine.connect() as conn:
        assert (await conn.execute(select(rows.c.name).where(rows.c.id == 1))).scalar() == "một"


async def test_a_failed_transaction_leaves_nothing(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    with pytest.raises(exc.IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(rows).values(id=7, name="first"))
            await conn.execute(insert(rows).values(id=7, name="again"))
    async with engine.connect() as conn:
        assert (await conn.execute(select(rows))).all() == []


async def test_a_statement_is_one_trip_and_an_idle_connection_none(
        engine, trips: list[str]) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with engine.connect() as conn:  # connected: the pool keeps it
        pass
    trips.clear()
    async with engine.begin() as conn:
        await conn.execute(insert(rows).values(name="a"))
        await conn.execute(select(rows))
        await conn.execute(update(rows).values(name="b"))
    # three statements and the commit; no trip for the pool's rollback of a committed one
    assert len(trips) == 4, trips
    trips.clear()
    async with engine.connect() as conn:
        assert (await conn.execute(select(rows.c.name))).scalar() == "b"
    assert len(trips) == 1, trips  # a read: no transaction to end
    trips.clear()
    async with engine.begin() as conn:  # a projection's batch: bulk writes, its checkpoint
        await conn.execute(insert(rows), [{"name": f"n{i}"} for i in range(10)])
        await conn.exec_driver_sql("INSERT INTO rows (name) VALUES (?)", [("m",), ("n",)])
        assert len(trips) == 0, trips  # they wait for the next trip
        changed = await conn.execute(update(rows).where(rows.c.name.like("n%"))
                                     .values(name="z"))
        assert changed.rowcount == 11  # the bulk rows went first, in order
    assert len(trips) == 2, trips  # the update with the bulk writes, then the commit
    trips.clear()
    async with engine.begin() as conn:
        await conn.execute(insert(rows), [{"name": "y"}, {"name": "w"}])
    assert len(trips) == 1, trips  # bulk writes alone go with the commit
    async with engine.begin() as conn:  # a streamed read sees what waits to be sent
        await conn.execute(insert(rows), [{"name": "s1"}, {"name": "s2"}])
        streamed = await conn.stream(select(rows.c.name).where(rows.c.name.like("s%")))
        assert [r.name async for r in streamed] == ["s1", "s2"]
        await conn.execute(delete(rows).where(rows.c.name.like("s%")))
    async with engine.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(rows))).scalar() == 15


async def test_in_autocommit_a_bulk_write_is_sent_at_once(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    async with engine.connect() as conn:
        autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await autocommit.execute(insert(rows), [{"name": "a"}, {"name": "b"}])
    async with engine.connect() as conn:  # no commit asked for: each statement was one
        assert (await conn.execute(select(func.count()).select_from(rows))).scalar() == 2


async def test_a_failing_bulk_write_fails_its_transaction_and_says_which(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(rows).values(id=3, name="kept"))
    for ending in ("commit", "next statement"):
        with pytest.raises(exc.IntegrityError) as raised:
            async with engine.begin() as conn:
                await conn.execute(insert(rows).values(id=9, name="first"))
                await conn.execute(insert(rows), [{"id": 4, "name": "a"},
                                                  {"id": 3, "name": "clash"}])
                if ending == "next statement":
                    await conn.execute(select(rows))
        assert "UNIQUE" in str(raised.value)
        assert any("INSERT INTO rows" in note
                   for note in getattr(raised.value.orig, "__notes__", [])), ending
    async with engine.connect() as conn:
        assert [tuple(r) for r in await conn.execute(select(rows))] == [(3, "kept")]
    # A transaction given up before anything was sent sends nothing later.
    async with engine.connect() as conn:
        await conn.execute(insert(rows), [{"id": 5, "name": "dropped"}])
        await conn.rollback()
        await conn.execute(insert(rows).values(id=6, name="sent"))
        await conn.commit()
    async with engine.connect() as conn:
        assert (await conn.execute(select(rows.c.id).order_by(rows.c.id))).scalars().all() \
            == [3, 6]


async def test_writers_of_one_database_take_turns(tmp_path: Path) -> None:
    """Two write transactions at once, each with awaits inside: SQLite lets one hold the write
    lock. With no busy timeout at all, the second fails at once unless they take turns."""
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}",
                                 module=one_trip_dbapi(), connect_args={"timeout": 0})
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)

        async def write(name: str, turns: bool) -> None:
            async with write_turn(engine) if turns else _no_turn(), engine.begin() as conn:
                for i in range(5):
                    await conn.execute(insert(rows).values(name=f"{name}{i}"))
                    await asyncio.sleep(0.01)

        outcomes = await asyncio.gather(write("a", False), write("b", False),
                                        return_exceptions=True)
        assert any(isinstance(o, exc.OperationalError) and "locked" in str(o) for o in outcomes)
        async with engine.begin() as conn:
            await conn.execute(rows.delete())
        await asyncio.gather(*(write(name, True) for name in "cdef"))
        async with engine.connect() as conn:
            names = (await conn.execute(select(rows.c.name).order_by(rows.c.id))).scalars().all()
        assert sorted(names) == sorted(f"{n}{i}" for n in "cdef" for i in range(5))
        assert [n[0] for n in names] == sorted(n[0] for n in names)  # one after another
    finally:
        await engine.dispose()


class _no_turn:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc_info: object) -> None:
        return None


class _Moved(Exception):
    pass


async def test_a_guarded_write_that_changes_other_rows_undoes_its_transaction(
        engine, trips: list[str]) -> None:  # type: ignore[no-untyped-def]
    """A compare-and-set that goes with the commit: it changes one row, or its exception is
    raised from that trip and nothing of the transaction stays."""
    guarded = "UPDATE rows SET name = ? WHERE id = ? AND name = ?"
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(rows).values(id=1, name="a"))
    trips.clear()
    async with engine.begin() as conn:
        await conn.execute(insert(rows), [{"id": 2, "name": "kept"}, {"id": 4, "name": "too"}])
        assert await defer_rows(conn, guarded, [("b", 1, "a")], expect_rows=1,
                                otherwise=_Moved("not at a"))
    assert trips == ["_commit"]  # the rows, the guard and the commit: one trip
    with pytest.raises(_Moved):
        async with engine.begin() as conn:
            await conn.execute(insert(rows), [{"id": 3, "name": "undone"}, {"id": 5, "name": "x"}])
            await defer_rows(conn, guarded, [("c", 1, "a")], expect_rows=1,
                             otherwise=_Moved("not at a"))
    async with engine.connect() as conn:
        assert [tuple(r) for r in await conn.execute(select(rows).order_by(rows.c.id))] \
            == [(1, "b"), (2, "kept"), (4, "too")]
    with pytest.raises(ValueError):
        async with engine.begin() as conn:
            await defer_rows(conn, guarded, [("c", 1, "b")], expect_rows=1)
