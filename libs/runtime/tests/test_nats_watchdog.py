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
