"""The register of projection versions a database holds: where each lives and which one answers.

A projection's name carries its version (``dossier-read-v5``); the name without its ``-v<N>``
suffix is its *family* (``dossier-read``). One row per version present in the database:

- ``namespace``: where its tables and its checkpoint live (``cchc.runtime.version_stores``);
  ``''`` is the database's default schema (the main SQLite file, PostgreSQL's ``public``),
  where every projection lived before versions were kept apart, and where the first version a
  database ever runs still lives;
- ``state``: ``building`` (replaying beside the one that answers), ``serving`` (answers reads;
  one per family), ``retired`` (replaced; its tables are dropped once it has been retired for
  the grace period, see ``cchc.runtime.projection_upgrade``), ``abandoned`` (an older
  version still replaying when a newer one took over: it never served, and goes as a retired
  one does);
- ``since``: when it entered that state (seconds since the epoch, the database's clock
  being of no help on SQLite).

The register lives in the default schema, beside the checkpoints of the versions kept there.
"""

import re
import time
from dataclasses import dataclass

from sqlalchemy import Column, Float, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.runtime import checkpoints

BUILDING, SERVING, RETIRED, ABANDONED = "building", "serving", "retired", "abandoned"
LEGACY_NAMESPACE = ""

metadata = MetaData()

versions = Table(
    "projection_versions",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("family", String(100), nullable=False, index=True),
    Column("namespace", String(63), nullable=False),
    Column("state", String(10), nullable=False),
    Column("since", Float, nullable=False),
)

_VERSION = re.compile(r"-v(\d+)$")


def family_of(name: str) -> str:
    """``dossier-read-v5`` -> ``dossier-read``; a name without a version is its own family."""
    return _VERSION.sub("", name)


def version_of(name: str) -> int:
    found = _VERSION.search(name)
    return int(found.group(1)) if found else 0


@dataclass(frozen=True)
class Version:
    name: str
    family: str
    namespace: str
    state: str
    since: float


async def of_family(conn: AsyncConnection, family: str) -> list[Version]:
    rows = await conn.execute(select(versions).where(versions.c.family == family))
    return [Version(**row._mapping) for row in rows]


async def enrol(conn: AsyncConnection, name: str, namespace: str, state: str) -> Version:
    now = time.time()
    await conn.execute(insert(versions).values(
        name=name, family=family_of(name), namespace=namespace, state=state, since=now))
    return Version(name, family_of(name), namespace, state, now)


async def set_state(conn: AsyncConnection, name: str, state: str) -> None:
    await conn.execute(update(versions).where(versions.c.name == name)
                       .values(state=state, since=time.time()))


async def forget(conn: AsyncConnection, name: str) -> None:
    """The version is gone: its row, and its checkpoint if it lived in the default schema."""
    await conn.execute(delete(versions).where(versions.c.name == name))
    await checkpoints.forget(conn, name)


async def legacy_checkpoints(conn: AsyncConnection, family: str) -> list[str]:
    """Names of this family with a checkpoint in the default schema: what a database kept by
    code older than this register holds (newest version first)."""
    rows = await conn.execute(select(checkpoints.checkpoints.c.projection))
    names = [name for (name,) in rows if family_of(name) == family]
    return sorted(names, key=version_of, reverse=True)
