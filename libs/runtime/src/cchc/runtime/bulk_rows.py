"""Many rows into one table in one driver call, each column's conversion looked up once.

SQLAlchemy's ``conn.execute(insert(table), rows)`` turns every row into driver parameters
through its general machinery: the compiled statement's parameter construction and a bind
processor lookup per key per row. In a replay that was a fifth of the rebuild's time (the
profile: ``construct_params`` and its list comprehension, 345,611 calls for 133,334 events).
Here the INSERT is compiled once per (table, columns, dialect); each row becomes a tuple in
the compiled order, converted by the column types' own bind processors — the values SQLAlchemy
itself would send — and the rows go to the driver's ``executemany`` at once.

Only positional parameter styles are taken this way (sqlite3's ``?``, asyncpg's ``$n``, the
two drivers the services use); any other driver gets SQLAlchemy's own executemany. On
PostgreSQL a batch of ``COPY_FROM`` rows or more goes in with ``COPY`` (asyncpg's
``copy_records_to_table``, binary, the connection's own codecs): one round trip and no
per-row statement on the server. Only inside the caller's open transaction, so that the rows
commit or roll back with the rest of the batch and its checkpoint; outside one, executemany.

On SQLite (``cchc.runtime.sqlite_driver``) the rows wait to go with the connection's next
trip to the database thread, a single row as well.

A connection's ``schema_translate_map`` (execution option) is applied, as SQLAlchemy would.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Any

from sqlalchemy import Table, bindparam, delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Compiled, Dialect
from sqlalchemy.sql.dml import Insert, Update
from sqlalchemy.sql.elements import ClauseElement
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.runtime.sqlite_driver import defer_rows

Converter = Callable[[Any], Any]
SchemaMap = tuple[tuple[str | None, str | None], ...] | None
COPY_FROM = 100  # rows: below, a prepared executemany costs less than setting up a COPY


@dataclass(frozen=True)
class AddOnConflict:
    """A row whose ``keys`` are stored already adds its ``add`` columns to the stored ones
    (counters), instead of failing."""

    keys: tuple[str, ...]
    add: tuple[str, ...]


def _insert_statement(table: Table, columns: tuple[str, ...], dialect: Dialect,
                      on_conflict: AddOnConflict | None) -> Insert:
    values = {name: bindparam(name) for name in columns}
    if on_conflict is None:
        return insert(table).values(values)
    statement = (postgresql if dialect.name == "postgresql" else sqlite).insert(table)
    statement = statement.values(values)
    return statement.on_conflict_do_update(
        index_elements=[table.c[key] for key in on_conflict.keys],
        set_={name: table.c[name] + statement.excluded[name] for name in on_conflict.add})


def _compile(statement: ClauseElement, dialect: Dialect, schemas: SchemaMap) -> Compiled:
    translate = dict(schemas) if schemas else None
    return statement.compile(dialect=dialect, schema_translate_map=translate,
                             render_schema_translate=bool(translate))


def compiled_statement(conn: AsyncConnection, statement: ClauseElement) -> Compiled:
    """``statement`` (built once, e.g. at import) in the connection's driver SQL, its schema
    translation applied, for sending with the driver's own calls."""
    return _compiled_statement(statement, conn.dialect, _schema_map(conn))


@lru_cache(maxsize=64)
def _compiled_statement(statement: ClauseElement, dialect: Dialect,
                        schemas: SchemaMap) -> Compiled:
    return _compile(statement, dialect, schemas)


class _RowParameters:
    """A compiled statement's positional parameters from a row (a dict): its values in the
    statement's order, each converted by its column type's bind processor."""

    values_of: Callable[[dict[str, Any]], tuple[Any, ...]]
    converters: list[tuple[int, Converter]]

    def parameters(self, row: dict[str, Any]) -> tuple[Any, ...]:
        values = self.values_of(row)
        if not self.converters:
            return values
        converted = list(values)
        for index, converter in self.converters:
            converted[index] = converter(converted[index])
        return tuple(converted)


class _CompiledInsert(_RowParameters):
    """The SQL text of an INSERT of ``columns`` and how to turn a row into its parameters."""

    def __init__(self, table: Table, columns: tuple[str, ...], dialect: Dialect,
                 schemas: SchemaMap, on_conflict: AddOnConflict | None = None) -> None:
        compiled = _compile(_insert_statement(table, columns, dialect, on_conflict), dialect,
                            schemas)
        translate = dict(schemas) if schemas else None
        self.positional = bool(compiled.positional and compiled.positiontup)
        self.sql = compiled.string
        self.table_name = table.name
        self.schema = translate.get(table.schema, table.schema) if translate else table.schema
        order = list(compiled.positiontup or columns)
        self.columns = order
        self.values_of = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
        self.converters: list[tuple[int, Converter]] = []
        for index, name in enumerate(order):
            converter = table.c[name].type.bind_processor(dialect)
            if converter is not None:
                self.converters.append((index, converter))



@lru_cache(maxsize=512)
def _compiled(table: Table, columns: tuple[str, ...], dialect: Dialect,
              schemas: SchemaMap, on_conflict: AddOnConflict | None = None) -> _CompiledInsert:
    return _CompiledInsert(table, columns, dialect, schemas, on_conflict)


def _schema_map(conn: AsyncConnection) -> SchemaMap:
    translate = conn.sync_connection.get_execution_options().get("schema_translate_map") \
        if conn.sync_connection is not None else None
    return tuple(sorted(translate.items(), key=repr)) if translate else None


async def insert_rows(conn: AsyncConnection, table: Table, rows: Sequence[dict[str, Any]],
                      on_conflict: AddOnConflict | None = None) -> None:
    """INSERT ``rows`` (dicts with the same keys) into ``table``: one executemany, or a COPY."""
    if not rows:
        return
    compiled = _compiled(table, tuple(rows[0]), conn.dialect, _schema_map(conn), on_conflict)
    if not compiled.positional:
        await conn.execute(_insert_statement(table, tuple(rows[0]), conn.dialect, on_conflict),
                           list(rows))
        return
    records = [compiled.parameters(row) for row in rows]
    if len(records) >= COPY_FROM and conn.dialect.driver == "asyncpg" and on_conflict is None:
        driver = (await conn.get_raw_connection()).driver_connection
        if driver is not None and driver.is_in_transaction():
            await driver.copy_records_to_table(compiled.table_name, records=records,
                                               columns=compiled.columns,
                                               schema_name=compiled.schema)
            return
    if conn.dialect.driver == "aiosqlite" and await defer_rows(conn, compiled.sql, records):
        return
    await conn.exec_driver_sql(compiled.sql, records)


IN_CHUNK = 500  # keys per DELETE ... IN (...)


@lru_cache(maxsize=128)
def _compiled_delete(table: Table, column: str, dialect: Dialect,
                     schemas: SchemaMap) -> tuple[str, Converter | None]:
    """The driver SQL of ``DELETE FROM table WHERE column = ?`` and the key's conversion."""
    compiled = _compile(delete(table).where(table.c[column] == bindparam("key")), dialect,
                        schemas)
    return compiled.string, table.c[column].type.bind_processor(dialect)


async def delete_rows(conn: AsyncConnection, table: Table, column: str,
                      keys: Sequence[Any]) -> None:
    """DELETE the rows of ``table`` whose ``column`` is one of ``keys``. On SQLite, one keyed
    DELETE per key, waiting for the connection's next trip (``cchc.runtime.sqlite_driver``);
    elsewhere, ``IN`` lists of ``IN_CHUNK`` keys."""
    if not keys:
        return
    if conn.dialect.driver == "aiosqlite":
        sql, convert = _compiled_delete(table, column, conn.dialect, _schema_map(conn))
        records = [((convert(key) if convert else key),) for key in keys]
        if await defer_rows(conn, sql, records):
            return
    for start in range(0, len(keys), IN_CHUNK):
        chunk = list(keys[start:start + IN_CHUNK])
        await conn.execute(delete(table).where(table.c[column].in_(chunk)))


def _update_statement(table: Table, key: str, columns: tuple[str, ...]) -> Update:
    return update(table).where(table.c[key] == bindparam("key_")).values(
        {name: bindparam(name) for name in columns})


class _CompiledUpdate(_RowParameters):
    """The SQL text of ``UPDATE table SET columns WHERE key = ?`` and each row's parameters."""

    def __init__(self, table: Table, key: str, columns: tuple[str, ...], dialect: Dialect,
                 schemas: SchemaMap) -> None:
        compiled = _compile(_update_statement(table, key, columns), dialect, schemas)
        self.sql = compiled.string
        self.positional = bool(compiled.positional and compiled.positiontup)
        order = [key if name == "key_" else name for name in compiled.positiontup or ()]
        self.values_of = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
        self.converters = [(index, converter) for index, name in enumerate(order)
                           if (converter := table.c[name].type.bind_processor(dialect))]



@lru_cache(maxsize=512)
def _compiled_update(table: Table, key: str, columns: tuple[str, ...], dialect: Dialect,
                     schemas: SchemaMap) -> _CompiledUpdate:
    return _CompiledUpdate(table, key, columns, dialect, schemas)


async def update_rows(conn: AsyncConnection, table: Table, key: str,
                      rows: Sequence[dict[str, Any]]) -> None:
    """UPDATE each row of ``table`` whose ``key`` column is a row's ``key`` value, setting the
    row's other values (every row has the same keys): one executemany, and on SQLite it waits
    to go with the connection's next trip. Nobody learns how many rows matched."""
    if not rows:
        return
    columns = tuple(name for name in rows[0] if name != key)
    compiled = _compiled_update(table, key, columns, conn.dialect, _schema_map(conn))
    if not compiled.positional:
        await conn.execute(_update_statement(table, key, columns),
                           [{**row, "key_": row[key]} for row in rows])
        return
    records = [compiled.parameters(row) for row in rows]
    if conn.dialect.driver == "aiosqlite" and await defer_rows(conn, compiled.sql, records):
        return
    await conn.exec_driver_sql(compiled.sql, records)
