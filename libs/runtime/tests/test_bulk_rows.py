"""insert_rows stores exactly what SQLAlchemy's own executemany stores, on SQLite and PostgreSQL."""

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import JSON, BigInteger, Column, Date, MetaData, String, Table, insert, select

from cchc.runtime.bulk_rows import AddOnConflict, delete_rows, insert_rows, update_rows
from cchc.runtime.sqldb import create_engine
from cchc.runtime.sqltypes import UtcDateTime

metadata = MetaData()
rows_table = Table(
    "bulk_rows_test", metadata,
    Column("position", BigInteger, primary_key=True),
    Column("name", String(64)),
    Column("at", UtcDateTime, nullable=True),
    Column("day", Date, nullable=True),
    Column("payload", JSON, nullable=True),
)
HANOI = timezone(timedelta(hours=7))


def sample(offset: int) -> list[dict]:
    """Rows with every kind of value the projections write: aware times in UTC and in another
    zone, microseconds, dates, JSON with Vietnamese text, and NULLs."""
    return [
        {"position": offset + 1, "name": "Nguyễn Văn An",
         "at": datetime(2022, 1, 3, 2, 0, tzinfo=UTC), "day": date(2022, 1, 3),
         "payload": {"applicant": {"name": "Trần Thị Bình"}, "n": 1}},
        {"position": offset + 2, "name": "b",
         "at": datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=HANOI), "day": None,
         "payload": None},
        {"position": offset + 3, "name": None, "at": None, "day": date(1999, 12, 31),
         "payload": [1, "hai", None]},
    ]


@pytest.fixture
async def engine(db_url: str):  # type: ignore[no-untyped-def]
    engine = create_engine(db_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


async def test_rows_read_back_as_sqlalchemy_writes_them(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await conn.execute(insert(rows_table), sample(0))  # SQLAlchemy's own way
        await insert_rows(conn, rows_table, sample(100))
    async with engine.connect() as conn:
        stored = (await conn.execute(select(rows_table).order_by(rows_table.c.position))).all()
    ours = [tuple(row)[1:] for row in stored if row.position > 100]
    theirs = [tuple(row)[1:] for row in stored if row.position <= 100]
    assert ours == theirs
    assert ours[1][1] == datetime(2024, 2, 29, 16, 59, 59, 123456, tzinfo=UTC)


async def test_the_same_stored_text_on_sqlite(sqlite_url: str) -> None:
    """On SQLite the fast timestamp conversion must store the very text SQLAlchemy stored
    before it (older rows and newer rows compare and sort together)."""
    engine = create_engine(sqlite_url)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await conn.execute(insert(rows_table), sample(0))
        await insert_rows(conn, rows_table, sample(100))
        stored = (await conn.exec_driver_sql(
            "SELECT position, at, day, payload FROM bulk_rows_test ORDER BY position")).all()
    await engine.dispose()
    assert [row[1:] for row in stored[:3]] == [row[1:] for row in stored[3:]]
    assert stored[1][1] == "2024-02-29 16:59:59.123456"


async def test_each_instant_stores_its_own_utc_text_however_often_it_repeats(
        sqlite_url: str) -> None:
    """SQLite's timestamp texts are remembered per instant: a repeated instant, the same
    instant in another zone, the two 01:30 of New York's repeated hour (equal to Python, an
    hour apart) and a naive time of the same wall time each get their own right text."""
    new_york = ZoneInfo("America/New_York")
    first = datetime(2022, 11, 6, 1, 30, tzinfo=new_york)  # 05:30 UTC, then clocks go back
    second = first.replace(fold=1)  # 06:30 UTC
    times = [datetime(2022, 1, 3, 2, 0, tzinfo=UTC), datetime(2022, 1, 3, 9, 0, tzinfo=HANOI),
             first, second, first, second]
    rows = [{**sample(0)[0], "position": n, "at": at} for n, at in enumerate(times)]
    engine = create_engine(sqlite_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            await insert_rows(conn, rows_table, rows)
            stored = (await conn.exec_driver_sql(
                "SELECT at FROM bulk_rows_test ORDER BY position")).scalars().all()
            assert stored == ["2022-01-03 02:00:00.000000"] * 2 + [
                "2022-11-06 05:30:00.000000", "2022-11-06 06:30:00.000000"] * 2
            with pytest.raises(Exception, match="naive"):
                await insert_rows(conn, rows_table, [{**rows[0], "position": 99,
                                                      "at": datetime(2022, 1, 3, 2, 0)}])
    finally:
        await engine.dispose()


async def test_a_naive_time_is_refused(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
            row = {**sample(0)[0], "at": datetime(2022, 1, 3, 2, 0)}
            with pytest.raises(Exception, match="naive"):
                await insert_rows(conn, rows_table, [row])
    finally:
        await engine.dispose()


async def test_nothing_to_insert_is_no_statement(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await insert_rows(conn, rows_table, [])
        assert (await conn.execute(select(rows_table))).all() == []


def many(offset: int, count: int) -> list[dict]:
    """Enough rows for PostgreSQL's COPY path."""
    rows = sample(offset) * (count // 3)
    return [{**row, "position": offset + index} for index, row in enumerate(rows)]


async def test_a_big_batch_stores_the_same_rows_and_rolls_back_with_its_transaction(engine):
    async with engine.begin() as conn:
        await conn.execute(insert(rows_table), many(0, 300))
        await insert_rows(conn, rows_table, many(1000, 300))
    async with engine.connect() as conn:
        stored = (await conn.execute(select(rows_table).order_by(rows_table.c.position))).all()
    assert [tuple(r)[1:] for r in stored if r.position < 1000] == \
        [tuple(r)[1:] for r in stored if r.position >= 1000]
    # A batch whose transaction fails leaves nothing behind: no half-written state.
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await conn.execute(select(rows_table.c.position).limit(1))  # as a batch reads first
            await insert_rows(conn, rows_table, many(5000, 300))
            raise RuntimeError("the batch fails after its rows")
    async with engine.connect() as conn:
        assert len((await conn.execute(select(rows_table))).all()) == 600


@pytest.mark.postgres
async def test_a_schema_translate_map_is_applied(postgres_url: str) -> None:
    base = create_engine(postgres_url)
    async with base.begin() as conn:
        await conn.exec_driver_sql("CREATE SCHEMA IF NOT EXISTS bulk_elsewhere")
    engine = base.execution_options(schema_translate_map={None: "bulk_elsewhere"})
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
        await insert_rows(conn, rows_table, sample(0))
        await insert_rows(conn, rows_table, many(100, 300))
    async with base.connect() as conn:
        count = (await conn.exec_driver_sql(
            "SELECT count(*) FROM bulk_elsewhere.bulk_rows_test")).scalar()
        public = (await conn.exec_driver_sql(
            "SELECT to_regclass('public.bulk_rows_test')")).scalar()
    await base.dispose()
    assert count == 303 and public is None


counts_table = Table(
    "bulk_counts_test", metadata,
    Column("agency", String(20), primary_key=True),
    Column("day", Date, primary_key=True),
    Column("received", BigInteger, nullable=False),
    Column("resolved", BigInteger, nullable=False),
)
ADD = AddOnConflict(keys=("agency", "day"), add=("received", "resolved"))


async def test_counts_add_to_the_stored_ones_a_single_row_as_well(engine) -> None:  # type: ignore[no-untyped-def]
    day = date(2022, 7, 15)
    async with engine.begin() as conn:
        await insert_rows(conn, counts_table, [
            {"agency": "SA", "day": day, "received": 2, "resolved": 0},
            {"agency": "SB", "day": day, "received": 1, "resolved": 1}], on_conflict=ADD)
    async with engine.begin() as conn:
        await insert_rows(conn, counts_table, [
            {"agency": "SA", "day": day, "received": 3, "resolved": 1}], on_conflict=ADD)
        await insert_rows(conn, counts_table, [
            {"agency": "SA", "day": day, "received": 1, "resolved": 0},
            {"agency": "SC", "day": day, "received": 4, "resolved": 0}], on_conflict=ADD)
    async with engine.connect() as conn:
        stored = (await conn.execute(select(counts_table).order_by(counts_table.c.agency))).all()
    assert [tuple(r) for r in stored] == [("SA", day, 6, 1), ("SB", day, 1, 1),
                                          ("SC", day, 4, 0)]


async def test_rows_updated_and_deleted_by_key_and_no_other(engine) -> None:  # type: ignore[no-untyped-def]
    async with engine.begin() as conn:
        await insert_rows(conn, rows_table, sample(0))
    async with engine.begin() as conn:
        await update_rows(conn, rows_table, "position", [
            {"position": 1, "name": "một", "at": datetime(2023, 1, 1, 7, 0, tzinfo=HANOI)},
            {"position": 3, "name": "ba", "at": None}])
        await update_rows(conn, rows_table, "position", [{"position": 2, "day": date(2020, 2, 2)}])
        await delete_rows(conn, rows_table, "position", [3, 99])
    async with engine.connect() as conn:
        stored = (await conn.execute(select(rows_table.c.position, rows_table.c.name,
                                            rows_table.c.at, rows_table.c.day)
                                     .order_by(rows_table.c.position))).all()
    assert [tuple(r) for r in stored] == [
        (1, "một", datetime(2023, 1, 1, 0, 0, tzinfo=UTC), date(2022, 1, 3)),
        (2, "b", datetime(2024, 2, 29, 16, 59, 59, 123456, tzinfo=UTC), date(2020, 2, 2))]
    async with engine.begin() as conn:  # more keys than one IN list holds
        await insert_rows(conn, rows_table, many(1000, 1200))
        await delete_rows(conn, rows_table, "position", list(range(1000, 2150)))
    async with engine.connect() as conn:
        assert len((await conn.execute(select(rows_table))).all()) == 2 + 50
