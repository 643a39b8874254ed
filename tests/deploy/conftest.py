"""Fixtures of the deployment tests: the deploy/ files, and nats-server configured from them."""

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
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
