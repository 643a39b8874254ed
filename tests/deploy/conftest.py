"""Fixtures of the deployment tests: the deploy/ files, and nats-server configured from them."""

import asyncio
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from cchc.runtime.natsserver import NatsServer

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"

# One password per user of deploy/nats/accounts.conf, given to nats-server through its environment
# exactly as a deployment does.
NATS_PASSWORDS = {
    user: f"test-{user}-secret"
    for user in ("dossier", "planning", "scoring", "gateway", "ops", "agency-STTTT", "agency-SNV",
                 "sys")
}


def password_variable(user: str) -> str:
    return "CCHC_NATS_" + user.upper().replace("-", "_") + "_PASSWORD"


def user_url(server: NatsServer, user: str) -> str:
    return f"nats://{user}:{NATS_PASSWORDS[user]}@{server.host}:{server.port}"


@pytest.fixture(scope="session")
def nats_user_url():
    """``url(server, user)``: the server's URL with that user's credentials in it."""
    return user_url


@pytest.fixture(scope="module")
def secured_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsServer]:
    """A real nats-server (the wheel's) with deploy/nats/accounts.conf, JetStream, synced writes."""
    folder = tmp_path_factory.mktemp("secured-nats")
    # nats-server resolves an include relative to the including file: keep them side by side.
    shutil.copy(DEPLOY / "nats" / "accounts.conf", folder / "accounts.conf")
    config = folder / "server.conf"
    config.write_text('include "accounts.conf"\njetstream { sync_interval: always }\n')
    with pytest.MonkeyPatch.context() as patch:
        for user, password in NATS_PASSWORDS.items():
            patch.setenv(password_variable(user), password)
        server = NatsServer(store_dir=folder / "js", config_file=config).start()
    yield server
    server.stop()


class Connection:
    """A NATS connection as one user, keeping the server's permission errors it was sent."""

    def __init__(self) -> None:
        self.nc: NATS | None = None
        self.errors: list[str] = []

    async def open(self, url: str) -> "Connection":
        async def on_error(error: Exception) -> None:
            self.errors.append(str(error).lower())

        self.nc = await nats.connect(url, error_cb=on_error, allow_reconnect=False)
        return self

    async def violation(self, subject: str, timeout: float = 2.0) -> str | None:
        """The permissions violation the server reported for ``subject``, if any (waits a bit)."""
        assert self.nc is not None
        await self.nc.flush()
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for error in self.errors:
                if "permissions violation" in error and f'"{subject.lower()}"' in error:
                    return error
            await asyncio.sleep(0.05)
        return None


@pytest.fixture
async def connect(secured_nats, nats_user_url) -> AsyncIterator[Callable[[str], Awaitable[Connection]]]:
    opened: list[Connection] = []

    async def as_user(user: str) -> Connection:
        connection = await Connection().open(nats_user_url(secured_nats, user))
        opened.append(connection)
        return connection

    yield as_user
    for connection in opened:
        if connection.nc is not None and not connection.nc.is_closed:
            await connection.nc.close()
