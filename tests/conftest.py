"""System-test fixtures: the whole embedded stack (real nats-server, services, gateway over HTTP)."""

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from api_client import Api
from cchc.cli.stack import EmbeddedStack
from cchc.runtime.natsserver import free_port


async def start_stack(data_dir: Path, database_urls: dict[str, str] | None = None, **options):  # type: ignore[no-untyped-def]
    stack = EmbeddedStack(data_dir, free_port(), database_urls=database_urls, **options)
    try:
        await stack.start()
    except BaseException:
        await stack.stop()  # nats-server and what started must not outlive a failed start
        raise
    task = asyncio.create_task(stack.serve())
    base_url = f"http://127.0.0.1:{stack.http_port}"
    async with httpx.AsyncClient() as client:
        for _ in range(200):
            try:
                if (await client.get(f"{base_url}/health")).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("stack did not become healthy")
    return stack, task, base_url


async def stop_stack(stack: EmbeddedStack, task: asyncio.Task) -> None:
    assert stack.server is not None
    stack.server.should_exit = True
    await asyncio.wait_for(task, 30)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
async def stack_api(request: pytest.FixtureRequest, tmp_path_factory) -> AsyncIterator[Api]:
    """The stack once per test module and database kind; tests use distinct agency codes."""
    from cchc.runtime.testing import create_database, drop_database

    database_urls = None
    server_url = None
    if request.param == "postgres":
        server_url = request.getfixturevalue("postgres_server_url")
        database_urls = {s: await create_database(server_url) for s in ("dossier", "planning", "scoring")}
    stack, task, base_url = await start_stack(tmp_path_factory.mktemp("stack"), database_urls)
    api = Api(base_url, stack.installation.jwt_secret())
    api.stack = stack  # type: ignore[attr-defined]
    yield api
    await api.close()
    await stop_stack(stack, task)
    for url in (database_urls or {}).values():
        await drop_database(server_url, url)
