"""Checkpoint and parked-event tables, shared by every projection in a database."""

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    MetaData,
    String,
    Table,
    Text,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.sql.dml import Update
from sqlalchemy.sql.expression import bindparam
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.runtime.bulk_rows import compiled_statement, update_rows
from cchc.runtime.sqlite_driver import defer_rows

metadata = MetaData()

checkpoints = Table(
    "projection_checkpoints",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

parked_events = Table(
    "parked_events",
    metadata,
    Column("projection", String(100), primary_key=True),
    Column("position", BigInteger, primary_key=True),
    Column("subject", String(300), nullable=False),
    Column("error", Text, nullable=False),
    Column("parked_at", DateTime(timezone=True), nullable=False),
)


async def read_checkpoint(conn: AsyncConnection, projection: str, lock: bool = False) -> int:
    query = select(checkpoints.c.position).where(checkpoints.c.projection == projection)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    position = (await conn.execute(query)).scalar_one_or_none()
    if position is None:
        await conn.execute(insert(checkpoints).values(projection=projection, position=0))
        return 0
    return position


async def exists(conn: AsyncConnection, projection: str) -> bool:
    """Whether this database has a checkpoint for the projection (it has run here before)."""
    query = select(checkpoints.c.position).where(checkpoints.c.projection == projection)
    return (await conn.execute(query)).first() is not None


async def read_checkpoint_only(conn: AsyncConnection, projection: str) -> int:
    """The checkpoint as it is, without creating it (for readers)."""
    query = select(checkpoints.c.position).where(checkpoints.c.projection == projection)
    return (await conn.execute(query)).scalar_one_or_none() or 0


async def write_checkpoint(conn: AsyncConnection, projection: str, position: int) -> None:
    # On SQLite it goes with the batch's commit, in the same trip (cchc.runtime.sqlite_driver).
    await update_rows(conn, checkpoints, "projection",
                      [{"projection": projection, "position": position}])


class CheckpointMoved(Exception):
    """The checkpoint was not where a batch assumed it: another runner of the projection moved
    it meanwhile (a lease handed over). The batch's transaction must roll back."""


def _advance_statement() -> Update:
    c = checkpoints.c
    return (update(checkpoints)
            .where(c.projection == bindparam("name"), c.position == bindparam("expected"))
            .values(position=bindparam("to")))


_ADVANCE = _advance_statement()


async def advance_checkpoint(conn: AsyncConnection, projection: str, expected: int,
                             position: int) -> None:
    """Move the checkpoint from ``expected`` to ``position`` in the batch's transaction, or
    raise ``CheckpointMoved`` (at the latest from the commit) if it is not at ``expected``: a
    compare-and-set, so that a runner sure of its checkpoint need not read it first. On SQLite
    it goes with the batch's commit, in the same trip (cchc.runtime.sqlite_driver)."""
    moved = CheckpointMoved(f"projection {projection}: the checkpoint is not at {expected}")
    if conn.dialect.driver == "aiosqlite":
        compiled = compiled_statement(conn, _ADVANCE)
        values = {"name": projection, "expected": expected, "to": position}
        if compiled.positiontup is not None and await defer_rows(
                conn, compiled.string, [tuple(values[name] for name in compiled.positiontup)],
                expect_rows=1, otherwise=moved):
            return
    result = await conn.execute(_ADVANCE,
                                {"name": projection, "expected": expected, "to": position})
    if result.rowcount != 1:
        raise moved


async def park(
    conn: AsyncConnection, projection: str, position: int, subject: str, error: str
) -> None:
    await conn.execute(
        insert(parked_events).values(
            projection=projection,
            position=position,
            subject=subject,
            error=error[:4000],
            parked_at=datetime.now(UTC),
        )
    )


async def forget(conn: AsyncConnection, projection: str) -> None:
    await conn.execute(delete(checkpoints).where(checkpoints.c.projection == projection))
    await conn.execute(delete(parked_events).where(parked_events.c.projection == projection))
