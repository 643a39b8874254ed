"""A service's connection reconnects through the errors a node may answer while it comes back.

Seen in the compose cluster's fault drill (2026-12-07, 07:01): a dossier and a planning replica
reconnecting to a node answered "Authorization Violation" once; FastStream's error callback
raised it inside nats-py's reconnect loop, the loop died, and the client stayed CONNECTING until
the NATS watchdog restarted the process.
"""

import asyncio
from pathlib import Path

import pytest

from cchc.runtime.endpoints import client_broker, connect_broker, stop_broker
from cchc.runtime.natsserver import NatsServer


def accept(password: str, config: Path) -> None:
    config.write_text('authorization { users: [{user: "svc", password: "%s"}] }\n' % password)


async def test_a_connection_answered_authorization_violation_while_reconnecting_keeps_trying(
        tmp_path) -> None:
    config = tmp_path / "server.conf"
    accept("right", config)
    server = NatsServer(store_dir=tmp_path / "nats", config_file=config).start()
    url = f"nats://svc:right@127.0.0.1:{server.port}"
    broker = client_broker(url, "cchc-test")
    nc = await connect_broker(broker)
    try:
        server.stop()
        accept("another", config)  # the node comes back refusing this user a moment
        server.start()
        for _ in range(100):
            if nc.last_error is not None and "Authorization Violation" in str(nc.last_error):
                break
            await asyncio.sleep(0.05)
        assert "Authorization Violation" in str(nc.last_error)
        server.stop()
        accept("right", config)
        server.start()
        for _ in range(100):
            if nc.is_connected:
                break
            await asyncio.sleep(0.1)
        assert nc.is_connected, f"stuck: status {nc._status}, task {nc._reconnection_task}"
        await nc.flush(timeout=5)
    finally:
        await stop_broker(broker, nc)
        server.stop()


async def test_a_first_connect_with_wrong_credentials_still_fails_at_once(tmp_path) -> None:
    config = tmp_path / "server.conf"
    accept("right", config)
    server = NatsServer(store_dir=tmp_path / "nats", config_file=config).start()
    try:
        broker = client_broker(f"nats://svc:wrong@127.0.0.1:{server.port}", "cchc-test")
        with pytest.raises(Exception, match="Authorization Violation"):
            await asyncio.wait_for(connect_broker(broker), 10)
    finally:
        server.stop()
