"""SQLite for the async engines: as few trips to the database thread as a transaction needs.

SQLAlchemy's aiosqlite adapter makes four or five trips to aiosqlite's thread per statement:
create a cursor, enter it, execute, fetch the rows, close the cursor. Each trip comes back
through the event loop, and a loop busy with requests takes its turn late: under 16 clients of
receipts a projection's one-row ``SELECT`` of its checkpoint took 4 ms (p50) and a batch of five
receipts 25 ms, nearly all of it waiting for turns, while its transaction kept SQLite's write
lock from the other projection of the same file.

Here:
- a statement is one function run in aiosqlite's thread (its connection's own queue, as
  aiosqlite's methods use): cursor, execute, fetch, close, then back with the rows, the
  description, the row count and the last row id;
- an ``executemany`` (bulk writes: it returns no rows, and its row count is -1, "not
  determined", as the DB-API allows) waits, in order, to go with the next trip: the next
  statement, the commit, or a streamed read. A batch of a projection's inserts and its
  checkpoint go in one trip. Should one of them fail, the error is raised from that trip
  (inside the same transaction, which then rolls back), with a note naming the statement that
  failed. In autocommit (each statement its own transaction) nothing waits;
- commit and rollback make no trip when there is nothing to end (the pool rolls back every
  connection it takes back, after a read as well).
Transactions, the pool, server-side cursors and error translation stay SQLAlchemy's and
aiosqlite's.

Relies on two private names of aiosqlite 0.22 (``Connection._execute``, ``Connection._conn``),
the same ones SQLAlchemy's adapter itself uses for its isolation-level setter;
``libs/runtime/tests/test_sqlite_driver.py`` fails if they go.
"""

import sqlite3
from collections import deque
from functools import cache
from typing import Any

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, list[Any], int, int | None]  # description, rows, rowcount, lastrowid
# executemany calls waiting for the next trip, each with the rows it must change and what to
# raise otherwise (None, None: nobody reads its row count)
Deferred = list[tuple[str, Any, int | None, Exception | None]]
_NOTHING: Outcome = (None, [], -1, None)


def _write_deferred(raw: sqlite3.Connection, deferred: Deferred) -> None:
    for operation, seq_of_parameters, expected_rows, otherwise in deferred:
        try:
            changed = raw.executemany(operation, seq_of_parameters).rowcount
        except Exception as error:
            error.add_note(f"in the bulk statement sent with this one: {operation[:300]}")
            raise
        if expected_rows is not None and changed != expected_rows:
            assert otherwise is not None
            raise otherwise


def _run(connection: aiosqlite.Connection, deferred: Deferred, operation: str,
         parameters: Any, many: bool) -> Outcome:
    """In aiosqlite's thread: the waiting bulk writes, then the whole statement."""
    raw = connection._conn
    _write_deferred(raw, deferred)
    cursor = raw.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description else []
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


async def _queued() -> None:
    return None


def _flush(connection: aiosqlite.Connection, deferred: Deferred) -> None:
    """In aiosqlite's thread: the waiting bulk writes."""
    _write_deferred(connection._conn, deferred)


def _commit(connection: aiosqlite.Connection, deferred: Deferred) -> None:
    """In aiosqlite's thread: the waiting bulk writes, then the commit."""
    raw = connection._conn
    _write_deferred(raw, deferred)
    raw.commit()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A buffered cursor whose statement runs in one trip; the rows are read from memory."""

    __slots__ = ("_outcome",)
    _adapt_connection: "OneTripConnection"

    def __init__(self, adapt_connection: "OneTripConnection") -> None:
        # No aiosqlite cursor to create and enter: each statement makes and closes its own.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._soft_closed_memoized = {}  # type: ignore[assignment]
        self._rows = deque()
        self._outcome = _NOTHING

    @property
    def description(self) -> Any:
        return self._outcome[0]

    @property
    def rowcount(self) -> int:
        return self._outcome[2]

    @property
    def lastrowid(self) -> int:
        return self._outcome[3]  # type: ignore[return-value]

    async def _async_soft_close(self) -> None:
        return None  # nothing open: the statement's cursor closed in the database thread

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> None:
        self._trip(operation, parameters, many=False)

    def _trip(self, operation: Any, parameters: Any, many: bool) -> None:
        try:
            self._outcome = await_(self._in_thread(operation, parameters, many))
        except Exception as error:  # noqa: BLE001 - SQLAlchemy's own translation, as upstream
            self._adapt_connection._handle_exception(error)
        self._rows = deque(self._outcome[1])

    def executemany(self, operation: Any, seq_of_parameters: Any) -> None:
        if not self._adapt_connection.defers:
            self._trip(operation, list(seq_of_parameters), many=True)
            return
        self._adapt_connection._deferred.append((operation, list(seq_of_parameters), None, None))
        self._outcome = _NOTHING
        self._rows = deque()
        # SQLAlchemy's async execute insists that the driver awaited something: a coroutine
        # that finishes at once, no turn of the event loop.
        await_(_queued())

    async def _in_thread(self, operation: Any, parameters: Any, many: bool) -> Outcome:
        adapted = self._adapt_connection
        async with adapted._execute_mutex:
            deferred = adapted._take_deferred()
            return await self._connection._execute(  # type: ignore[no-any-return]
                _run, self._connection, deferred, operation, parameters, many)

    def nextset(self) -> None:
        return None  # one statement, one result


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ("_deferred",)
    _cursor_cls = OneTripCursor

    def __init__(self, dbapi: Any, connection: aiosqlite.Connection) -> None:
        super().__init__(dbapi, connection)
        self._deferred: Deferred = []

    @property
    def defers(self) -> bool:
        """Whether bulk writes may wait: in a transaction SQLite's module opens by itself (not
        in autocommit, where each statement is its own transaction and must be sent)."""
        return self._connection.isolation_level is not None

    def _take_deferred(self) -> Deferred:
        deferred, self._deferred = self._deferred, []
        return deferred

    def cursor(self, server_side: bool = False) -> Any:
        if server_side and self._deferred:
            # A streamed read is aiosqlite's own cursor: what waits goes first, on its own.
            deferred = self._take_deferred()
            try:
                await_(self._connection._execute(_flush, self._connection, deferred))
            except Exception as error:  # noqa: BLE001 - as SQLAlchemy's adapter does
                self._handle_exception(error)
        return super().cursor(server_side)

    def commit(self) -> None:
        deferred = self._take_deferred()
        if not deferred and not self._connection.in_transaction:
            return  # sqlite3's commit would do nothing
        try:
            await_(self._connection._execute(_commit, self._connection, deferred))
        except Exception as error:  # noqa: BLE001 - as SQLAlchemy's adapter does
            self._handle_exception(error)

    def rollback(self) -> None:
        self._deferred = []  # never sent: nothing to undo
        if self._connection.in_transaction:
            super().rollback()

    def close(self) -> None:
        self._deferred = []
        super().close()


async def defer_rows(conn: AsyncConnection, operation: str, records: list[tuple[Any, ...]],
                     expect_rows: int | None = None, otherwise: Exception | None = None) -> bool:
    """Queue ``records`` for ``operation`` (a write in the driver's own SQL, returning nothing)
    to go with the connection's next trip, however few they are; False on any other driver.
    (SQLAlchemy sends a single row with ``execute``, a trip of its own.) With ``expect_rows``,
    a write that changes another number of rows raises ``otherwise`` from that trip, before
    anything after it (the commit) runs: a guard, as a compare-and-set."""
    if (expect_rows is None) != (otherwise is None):
        raise ValueError("expect_rows and otherwise go together")
    driver = (await conn.get_raw_connection()).dbapi_connection
    if not isinstance(driver, OneTripConnection) or not driver.defers:
        return False
    driver._deferred.append((operation, records, expect_rows, otherwise))
    return True


class OneTripDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """aiosqlite as SQLAlchemy adapts it, with connections that make fewer trips."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


@cache
def one_trip_dbapi() -> OneTripDBAPI:
    """The module to give ``create_async_engine(..., module=...)`` for a sqlite+aiosqlite URL."""
    return OneTripDBAPI(aiosqlite, sqlite3)
