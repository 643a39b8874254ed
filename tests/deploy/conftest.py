"""Fixtures of the deployment tests: the deploy/ files, and nats-server configured from them.

The secured server runs deploy/nats/accounts.conf and deploy/nats/tls.conf (its certificate paths
pointed at certificates made by deploy/tls/make_certs.py), so every connection in these tests
speaks TLS, logs in as a user of accounts.conf and uses that user's own inbox prefix.
"""

import asyncio
import shutil
import ssl
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import nats
import pytest
from nats.aio.client import Client as NATS
from cchc.runtime.natsserver import NatsServer

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MAKE_CERTS = DEPLOY / "tls" / "make_certs.py"

# One password per user of deploy/nats/accounts.conf, given to nats-server through its environment
# exactly as a deployment does.
NATS_PASSWORDS = {
    user: f"test-{user}-secret"
    for user in ("dossier", "planning", "scoring", "gateway", "anchor", "backup", "ops",
                 "agency-STTTT", "agency-SNV", "sys")
}


def password_variable(user: str) -> str:
    return "CCHC_NATS_" + user.upper().replace("-", "_") + "_PASSWORD"


def inbox_prefix(user: str) -> str:
    """The inbox prefix accounts.conf lets ``user`` subscribe to (ops: nats-py's default)."""
    return "_INBOX" if user == "ops" else "_INBOX_" + user.replace("-", "_")


def user_url(server: NatsServer, user: str) -> str:
    return f"tls://{user}:{NATS_PASSWORDS[user]}@{server.host}:{server.port}"


def make_certs(folder: Path, *sans: str) -> Path:
    """Run deploy/tls/make_certs.py as an operator would; returns the folder it wrote."""
    args = [sys.executable, str(MAKE_CERTS), "--out", str(folder)]
    for san in sans:
        args += ["--san", san]
    made = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    return folder


def with_cert_paths(config: str, certs: Path) -> str:
    """A deploy config with its /etc/nats-tls/ paths pointed at a folder of make_certs.py."""
    assert "/etc/nats-tls/" in config
    return config.replace("/etc/nats-tls/", f"{certs / 'server'}/")


def tls_context(ca: Path | None) -> ssl.SSLContext:
    """A client context trusting ``ca`` (None: the system's CAs only)."""
    return ssl.create_default_context(cafile=str(ca) if ca else None)


@pytest.fixture(scope="session")
def deploy_tls() -> SimpleNamespace:
    """The helpers above, for test modules (they are not importable under importlib mode)."""
    return SimpleNamespace(make_certs=make_certs, with_cert_paths=with_cert_paths,
                           tls_context=tls_context, inbox_prefix=inbox_prefix,
                           password_variable=password_variable, passwords=NATS_PASSWORDS)


@pytest.fixture(scope="session")
def nats_certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private CA and NATS certificates from deploy/tls/make_certs.py (server names include
    127.0.0.1, as for a local compose installation)."""
    return make_certs(tmp_path_factory.mktemp("nats-certs") / "certs")


@pytest.fixture(scope="session")
def nats_user_url():
    """``url(server, user)``: the server's URL with that user's credentials in it."""
    return user_url


@pytest.fixture(scope="module")
def secured_nats(tmp_path_factory: pytest.TempPathFactory, nats_certs) -> Iterator[NatsServer]:
    """A real nats-server (the wheel's) with deploy/nats/accounts.conf and tls.conf, JetStream,
    synced writes."""
    folder = tmp_path_factory.mktemp("secured-nats")
    # nats-server resolves an include relative to the including file: keep them side by side.
    shutil.copy(DEPLOY / "nats" / "accounts.conf", folder / "accounts.conf")
    (folder / "tls.conf").write_text(with_cert_paths((DEPLOY / "nats" / "tls.conf").read_text(),
                                                     nats_certs))
    config = folder / "server.conf"
    config.write_text('include "tls.conf"\ninclude "accounts.conf"\n'
                      'jetstream { sync_interval: always }\n')
    with pytest.MonkeyPatch.context() as patch:
        for user, password in NATS_PASSWORDS.items():
            patch.setenv(password_variable(user), password)
        server = NatsServer(store_dir=folder / "js", config_file=config).start()
    yield server
    server.stop()


@pytest.fixture
def deployed_ca(monkeypatch, nats_certs) -> str:
    """The private CA's file, for the NATS CA setting of each process, as deployed
    (``CCHC_<SERVICE>_NATS_TLS_CA``); OpenSSL's process-wide SSL_CERT_FILE is unset, so that
    nothing else can make a connection trust the CA."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    return str(nats_certs / "ca.crt")


class Connection:
    """A NATS connection as one user, keeping the server's permission errors it was sent."""

    def __init__(self) -> None:
        self.nc: NATS | None = None
        self.errors: list[str] = []

    async def open(self, url: str, ca: Path | None, prefix: str = "_INBOX") -> "Connection":
        async def on_error(error: Exception) -> None:
            self.errors.append(str(error).lower())

        self.nc = await nats.connect(url, error_cb=on_error, allow_reconnect=False,
                                     tls=tls_context(ca), inbox_prefix=prefix)
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
async def connect(secured_nats, nats_user_url, nats_certs
                  ) -> AsyncIterator[Callable[..., Awaitable[Connection]]]:
    """``connect(user, prefix=None)``: a TLS connection as that user, with its own inbox prefix
    unless another is named."""
    opened: list[Connection] = []

    async def as_user(user: str, prefix: str | None = None) -> Connection:
        connection = await Connection().open(nats_user_url(secured_nats, user),
                                             nats_certs / "ca.crt", prefix or inbox_prefix(user))
        opened.append(connection)
        return connection

    yield as_user
    for connection in opened:
        if connection.nc is not None and not connection.nc.is_closed:
            await connection.nc.close()


@pytest.fixture
async def gateway_client(secured_nats, nats_user_url, nats_certs):
    """A caller of the services' endpoints as the gateway calls them (FastStream requests), logged
    in as the `gateway` user over TLS with the gateway's inbox prefix."""
    from cchc.runtime.endpoints import ServiceClient
    from faststream.nats import NatsBroker
    from faststream.security import BaseSecurity

    broker = NatsBroker(nats_user_url(secured_nats, "gateway"), logger=None,
                        security=BaseSecurity(ssl_context=tls_context(nats_certs / "ca.crt")),
                        inbox_prefix=inbox_prefix("gateway"))
    await broker.connect()
    yield ServiceClient(broker, timeout=5)
    await broker.stop()
