"""A projection's secondary indexes, built once after a replay instead of row by row during it.

A replay into fresh tables inserts every row of the log; each non-unique index on the way costs
a B-tree insert per row. Sorting the whole column once at the end is cheaper. Only indexes that
serve queries wait: unique ones (and primary keys, unique constraints) are created with their
table, since they keep the rows right and back the upserts' ON CONFLICT.

A projection opts in (``defer_indexes = True``) when its own writes find rows by primary key
only: an UPDATE by an indexed column would scan the table for each row while its index waits.
"""

from sqlalchemy import Index, MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.schema import CreateTable


def deferred(metadata: MetaData) -> list[Index]:
    """The indexes that wait for the end of a replay."""
    return [index for table in metadata.sorted_tables for index in sorted(
        table.indexes, key=lambda index: str(index.name)) if not index.unique]


def create_tables(conn: Connection, metadata: MetaData) -> None:
    """Create the tables of ``metadata`` that are missing, without their deferred indexes."""
    waiting = set(deferred(metadata))
    for table in metadata.sorted_tables:
        if conn.dialect.has_table(conn, table.name, schema=conn.schema_for_object(table)):
            continue
        conn.execute(CreateTable(table))
        for index in table.indexes:
            if index not in waiting:
                index.create(conn)


def create_indexes(conn: Connection, metadata: MetaData) -> None:
    """Create the deferred indexes that are missing (all of them after a replay; none when
    they are in place already)."""
    for index in deferred(metadata):
        index.create(conn, checkfirst=True)
