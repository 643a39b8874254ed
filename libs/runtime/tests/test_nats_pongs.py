"""A flush that times out, then its late PONG: the connection goes on reading (nats-py's read loop
died of it before, the client still saying CONNECTED)."""

import asyncio
import sys
from pathlib import Path

import nats

from cchc.runtime.natsserver import NatsServer

# The server stops answering long enough for a flush to time out, then answers again. SIGSTOP
# takes effect when the kernel next schedules the process: wait until it is stopped ("T").
LATE_PONG = """
import asyncio, os, signal, sys, time
from pathlib import Path
import nats
from cchc.runtime.natsserver import NatsServer

def state(pid):
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]

async def main(store, patched):
    if patched:
        from cchc.runtime.nats_pongs import skip_abandoned_pongs
        skip_abandoned_pongs()
    server = NatsServer(store_dir=Path(store)).start()
    nc = await nats.connect(server.url, ping_interval=60)
    try:
        os.kill(server.process.pid, signal.SIGSTOP)
        while state(server.process.pid) != "T":
            time.sleep(0.001)
        try:
            await nc.flush(timeout=0.5)
        except nats.errors.FlushTimeoutError:
            print("flush timed out")
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        await asyncio.sleep(0.5)  # the late PONG arrives and is read
        print("connected", nc.is_connected, "reading", not nc._reading_task.done())
        if patched:
            subscription = await nc.subscribe("still.reading")
            await nc.publish("still.reading", b"yes")
            print("received", (await subscription.next_msg(timeout=2)).data.decode())
    finally:
        await nc.close()
        server.stop()

asyncio.run(main(sys.argv[1], sys.argv[2] == "patched"))
"""


async def late_pong(store: Path, patched: bool) -> tuple[str, str]:
    """In a process of its own: the patch is process-wide."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LATE_PONG, str(store), "patched" if patched else "as-is",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return out.decode(), err.decode()


async def test_a_late_pong_leaves_the_connection_reading(tmp_path) -> None:
    out, err = await late_pong(tmp_path / "nats", patched=True)
    assert out.splitlines() == ["flush timed out", "connected True reading True",
                                "received yes"], (out, err[-2000:])


async def test_without_it_the_read_loop_dies_of_the_late_pong(tmp_path) -> None:
    """Why the module exists: nats-py as it is (2.16). Should this fail, nats-py has fixed it."""
    out, err = await late_pong(tmp_path / "nats", patched=False)
    assert out.splitlines() == ["flush timed out", "connected True reading False"], (
        out, err[-2000:])
    assert "InvalidStateError" in err
