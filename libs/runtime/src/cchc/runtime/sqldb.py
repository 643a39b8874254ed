"""SQL engines for projections: SQLite (embedded default) and PostgreSQL, same code on both.

A SQLite projection holds personal data (applicants' names and phone numbers): its file is
created 0600 here, before SQLite opens it, so it is never readable by others, not even for a
moment. SQLite gives the -wal, -shm and -journal files it creates the mode of the database file
(whatever the umask), so they are 0600 as well.
"""

import asyncio
import contextlib
import json
import os
import weakref
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Table, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql.dml import Insert

from cchc.runtime.sqlite_driver import one_trip_dbapi

_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def async_url(url: str) -> str:
    """Accept plain ``sqlite:///x.db`` / ``postgresql://...`` and pick the async driver."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if parsed.drivername in _ASYNC_DRIVERS:
        parsed = parsed.set(drivername=_ASYNC_DRIVERS[backend])
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


# One asyncio lock per SQLite engine and event loop: see write_turn.
_WRITE_TURNS: "weakref.WeakKeyDictionary[AsyncEngine, tuple[asyncio.AbstractEventLoop, asyncio.Lock]]" \
    = weakref.WeakKeyDictionary()


@contextlib.asynccontextmanager
async def write_turn(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold this for a write transaction on ``engine``: on SQLite the process's writers (two
    projections of one database file) take turns here, in order, instead of in SQLite's busy
    handler, which sleeps 1, 2, 5, 10, ... ms between tries while another holds the file's
    write lock (under 16 clients of receipts that put 445 ms on the alerts projection's p99
    batch). PostgreSQL locks rows, not the database: no turn to wait for."""
    if not is_sqlite(engine):
        yield
        return
    loop = asyncio.get_running_loop()
    held = _WRITE_TURNS.get(engine)
    if held is None or held[0] is not loop:
        held = _WRITE_TURNS[engine] = (loop, asyncio.Lock())
    async with held[1]:
        yield


DB_FILE_MODE = 0o600


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL, or None (PostgreSQL, an in-memory or a ``file:`` URI database)."""
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:" \
            or database.startswith("file:") or parsed.query.get("uri"):
        return None
    return Path(database)


def private_sqlite_file(path: Path) -> None:
    """Create the (empty: SQLite takes it as a new database) file 0600, or tighten an older one
    and its companions."""
    if not path.parent.is_dir():
        return  # SQLite will say it cannot open the file
    fd = os.open(path, os.O_RDWR | os.O_CREAT, DB_FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o777 != DB_FILE_MODE:
            os.fchmod(fd, DB_FILE_MODE)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.is_file() and companion.stat().st_mode & 0o777 != DB_FILE_MODE:
            companion.chmod(DB_FILE_MODE)


def json_text(value: Any) -> str:
    """A JSON column's value as stored: orjson, five times as fast as the standard library for
    the payloads a replay writes (one per event, into the history); the standard library for
    what orjson refuses (integers beyond 64 bits), so nothing storable before is refused now."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(value)


def create_engine(url: str) -> AsyncEngine:
    url = async_url(url)
    if url.startswith("sqlite"):
        path = sqlite_file(url)
        if path is not None:
            private_sqlite_file(path)
        engine = create_async_engine(url, module=one_trip_dbapi(), connect_args={"timeout": 30},
                                     json_serializer=json_text)
        _tune_sqlite(engine)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True,
                               json_serializer=json_text)


def _tune_sqlite(engine: AsyncEngine) -> None:
    # WAL lets the query side read while a projection writes; NORMAL sync is safe with WAL
    # because a lost tail is replayed from the log (the checkpoint is in the same transaction).
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def upsert(conn: AsyncConnection, table: Table, keys: list[str]) -> Insert:
    """An INSERT of ``table`` that replaces the other columns of a row whose ``keys`` exist:
    the same statement on SQLite and PostgreSQL (a fact stated again replaces the first)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    others = {c.name: statement.excluded[c.name] for c in table.columns if c.name not in keys}
    return statement.on_conflict_do_update(index_elements=keys, set_=others)
