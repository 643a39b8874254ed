"""Where each projection version keeps its tables: one namespace per version.

The query code names tables without a schema (``tables.dossiers``); which version it reads is
decided by the connection, not by the code:

- PostgreSQL: a namespace is a schema. A version's own engine has ``search_path`` set to its
  schema alone, so its tables and its checkpoint (the ``projection_checkpoints`` table of that
  schema) are created and written there, in one transaction as always. The reading engine's
  ``search_path`` lists the schema of the version each family serves, then ``public``.
- SQLite: a namespace is a database file beside the main one (``dossier.db`` ->
  ``dossier.p_dossier_read_v5.db``). A version's engine opens its file as its main database:
  rows and checkpoint in one file, so one transaction is atomic (with WAL, a transaction over
  attached databases is not). The reading engine opens an empty in-memory main database and
  ATTACHes the serving versions' files, the default one last: an unqualified name is looked up
  in the order of attachment, so a serving version shadows an older one left in the main file.

The default namespace (``''``) is the database as configured: the main SQLite file or
PostgreSQL's ``public``. An in-memory SQLite database has no room for namespaces: every version
lives in the default one there (and a new version replaces the old one in place).
"""

import os
import re
from pathlib import Path

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from cchc.runtime.projection_versions import LEGACY_NAMESPACE
from cchc.runtime.sqldb import (
    async_url,
    create_engine,
    json_text,
    private_sqlite_file,
    sqlite_file,
)
from cchc.runtime.sqlite_driver import one_trip_dbapi

# A version's engine serves its runner (the lease's session and a batch at a time) and the
# standby's checkpoint reads: a few connections, not a reading pool's worth.
VERSION_POOL = {"pool_size": 2, "max_overflow": 3}


def namespace_for(name: str) -> str:
    """A schema (or file) name for a version: ``dossier-read-v5`` -> ``p_dossier_read_v5``."""
    return ("p_" + re.sub(r"[^a-z0-9]+", "_", name.lower())).strip("_")[:63]


def base_url(engine: AsyncEngine) -> str:
    return engine.url.render_as_string(hide_password=False)


def keeps_namespaces(engine: AsyncEngine) -> bool:
    """Whether versions can live apart here (not in an in-memory SQLite database)."""
    return engine.dialect.name == "postgresql" or sqlite_file(base_url(engine)) is not None


def namespace_file(engine: AsyncEngine, namespace: str) -> Path:
    main = sqlite_file(base_url(engine))
    assert main is not None
    return main.with_name(f"{main.stem}.{namespace}{main.suffix or '.db'}")


async def version_engine(base: AsyncEngine, namespace: str) -> AsyncEngine:
    """An engine whose connections see ``namespace`` only (created if missing)."""
    if namespace == LEGACY_NAMESPACE:
        return base
    if base.dialect.name == "postgresql":
        async with base.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{namespace}"'))
        return create_async_engine(
            async_url(base_url(base)), pool_pre_ping=True, json_serializer=json_text,
            **VERSION_POOL, connect_args={"server_settings": {"search_path": namespace}})
    return create_engine(f"sqlite:///{namespace_file(base, namespace)}")


def reading_engine(base: AsyncEngine, namespaces: list[str]) -> AsyncEngine:
    """An engine for queries that sees, for each unqualified table name, the first of
    ``namespaces`` (then the default namespace) that has it."""
    apart = [ns for ns in dict.fromkeys(namespaces) if ns != LEGACY_NAMESPACE]
    if not apart:
        return base
    if base.dialect.name == "postgresql":
        path = ", ".join([*(f'"{ns}"' for ns in apart), "public"])
        return create_async_engine(async_url(base_url(base)), pool_size=10, max_overflow=10,
                                   pool_pre_ping=True, json_serializer=json_text,
                                   connect_args={"server_settings": {"search_path": path}})
    main = sqlite_file(base_url(base))
    assert main is not None
    files = [(ns, namespace_file(base, ns)) for ns in apart] + [("p_default", main)]
    for _, path in files:
        private_sqlite_file(path)
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=AsyncAdaptedQueuePool,
                                 pool_size=10, max_overflow=10, connect_args={"timeout": 30},
                                 module=one_trip_dbapi(), json_serializer=json_text)

    @event.listens_for(engine.sync_engine, "connect")
    def _attach(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        for alias, path in files:  # the names come from namespace_for: [a-z0-9_] only
            cursor.execute(f"ATTACH DATABASE ? AS {alias}", (str(path),))
        cursor.close()

    return engine


async def drop_namespace(base: AsyncEngine, namespace: str) -> None:
    """Remove a version's namespace and everything in it (not the default one)."""
    assert namespace != LEGACY_NAMESPACE
    if base.dialect.name == "postgresql":
        async with base.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA IF EXISTS "{namespace}" CASCADE'))
        return
    path = namespace_file(base, namespace)
    for suffix in ("", "-wal", "-shm", "-journal"):
        try:
            os.remove(path.with_name(path.name + suffix))
        except FileNotFoundError:
            pass
