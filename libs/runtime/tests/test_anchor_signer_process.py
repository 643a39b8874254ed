"""The anchor signer's process: it signs while its NATS connection works, and stops with exit
code 1 once the NATS watchdog gives that connection up (its supervisor starts a fresh one), as
the services do; before, a lost or stuck connection left it running and signing nothing."""

import asyncio
import functools

import nats
from cchc.runtime import anchor_signer
from cchc.runtime.anchor_signer import AnchorSettings, run_until_signalled
from cchc.runtime.nats_watchdog import watch
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.signing_keys import new_private_key_text


async def test_the_signer_signs_then_stops_with_1_once_its_connection_is_given_up(
        tmp_path, monkeypatch) -> None:
    server = NatsServer(store_dir=tmp_path / "nats").start()
    monkeypatch.setattr(anchor_signer.nats_watchdog, "watch", functools.partial(
        watch, every_s=0.2, give_up_after_s=3.0, reconnect_within_s=2.0))
    settings = AnchorSettings(nats_url=server.url, signing_key=new_private_key_text(),
                              interval_s=0.2)
    running = asyncio.create_task(run_until_signalled(settings))
    try:
        nc = await nats.connect(server.url)
        deadline = asyncio.get_running_loop().time() + 15
        while True:  # it signs while its connection works
            try:
                if (await nc.jetstream().stream_info("ANCHORS")).state.messages:
                    break
            except nats.js.errors.NotFoundError:
                pass  # not set up yet
            assert asyncio.get_running_loop().time() < deadline, "the signer never signed"
            await asyncio.sleep(0.1)
        await nc.close()
        assert not running.done()
        server.stop(kill=True)  # its only node gone for good
        assert await asyncio.wait_for(running, 20) == 1
    finally:
        running.cancel()
        server.stop()
