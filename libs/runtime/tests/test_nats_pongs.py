"""A flush that times out, then its late PONG: the connection goes on reading (nats-py's read loop
died of it before, the client still saying CONNECTED)."""

import asyncio
import os
import signal
import sys

import nats
import pytest

from cchc.runtime.nats_pongs import skip_abandoned_pongs
from cchc.runtime.natsserver import NatsServer


async def flush_times_out_then_pong_comes(nc, server: NatsServer) -> None:  # type: ignore[no-untyped-def]
    """The server stops answering long enough for a flush to time out, then answers again."""
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        with pytest.raises(nats.errors.FlushTimeoutError):
            await nc.flush(timeout=0.5)
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
    await asyncio.sleep(0.5)  # the late PONG arrives and is read


async def test_a_late_pong_leaves_the_connection_reading(tmp_path, monkeypatch) -> None:
    from nats.aio.client import Client

    monkeypatch.setattr(Client, "_process_pong", Client._process_pong)  # restored afterwards
    skip_abandoned_pongs()
    server = NatsServer(store_dir=tmp_path / "nats").start()
    nc = await nats.connect(server.url, ping_interval=60)
    try:
        await flush_times_out_then_pong_comes(nc, server)
        assert nc.is_connected and not nc._reading_task.done()
        subscription = await nc.subscribe("still.reading")
        await nc.publish("still.reading", b"yes")
        assert (await subscription.next_msg(timeout=2)).data == b"yes"
        await nc.flush(timeout=2)
    finally:
        await nc.close()
        server.stop()


async def test_without_it_the_read_loop_dies_of_the_late_pong(tmp_path) -> None:
    """Why the module exists: nats-py as it is (2.16), in a process of its own (the patch is
    process-wide, and may have been applied by another test)."""
    script = f"""
import asyncio, os, signal
from pathlib import Path
import nats
from cchc.runtime.natsserver import NatsServer

async def main():
    server = NatsServer(store_dir=Path({str(tmp_path / "nats")!r})).start()
    nc = await nats.connect(server.url, ping_interval=60)
    try:
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            await nc.flush(timeout=0.5)
        except nats.errors.FlushTimeoutError:
            print("flush timed out")
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        await asyncio.sleep(0.5)
        print("connected", nc.is_connected, "reading", not nc._reading_task.done())
    finally:
        await nc.close()
        server.stop()

asyncio.run(main())
"""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert b"flush timed out\nconnected True reading False" in out, (out, err[-2000:])
    assert b"InvalidStateError" in err
