"""The NATS watchdog: quiet while the server answers, gives up once it has not for long enough."""

import asyncio

import nats
import pytest

from cchc.runtime.nats_watchdog import watch
from cchc.runtime.natsserver import NatsServer


async def test_quiet_while_round_trips_complete_then_gives_up_when_they_stop(tmp_path) -> None:
    server = NatsServer(store_dir=tmp_path / "nats").start()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    try:
        watching = asyncio.create_task(watch(nc, every_s=0.1, give_up_after_s=0.6))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(watching), 1.0)  # the server answers
        server.stop()  # nothing answers now; the client keeps trying to reconnect
        silent = await asyncio.wait_for(watching, 10.0)
        assert silent >= 0.6
    finally:
        await nc.close()
        server.stop()


async def test_a_broker_whose_connection_is_lost_stops_cleanly(tmp_path) -> None:
    """What the watchdog's stop meets: a connection that is reconnecting, which nats-py refuses
    to drain. The broker stops all the same, its connection closed without draining."""
    from nats.errors import ConnectionReconnectingError

    from cchc.runtime.endpoints import client_broker, stop_broker

    server = NatsServer(store_dir=tmp_path / "nats").start()
    broker = client_broker(server.url, "cchc-test")
    nc = await broker.connect()
    try:
        server.stop()
        for _ in range(100):
            if nc.is_reconnecting:
                break
            await asyncio.sleep(0.05)
        assert nc.is_reconnecting
        with pytest.raises(ConnectionReconnectingError):
            await nc.drain()  # what broker.stop() alone ran into
        await asyncio.wait_for(stop_broker(broker, nc), 10)
        assert nc.is_closed
    finally:
        await nc.close()
        server.stop()
