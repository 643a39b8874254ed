"""How often a cancel sent to a task awaiting nats-py's ``request`` is lost. Not part of the
test run.

    .venv/bin/python bench/cancel_swallow.py              # 4,000 requests
    .venv/bin/python bench/cancel_swallow.py --tries 500  # a quick look

On Python 3.11 ``asyncio.wait_for`` returns the result if the awaited future is done when the
cancel arrives (python/cpython#86296, fixed in 3.12), and nats-py's ``request`` awaits
``wait_for``. Each try starts a request to a responder on a real nats-server, then cancels the
requesting task after a delay spread around one round trip. A task that was still running when
``cancel()`` was called (it returned True) but ended with the reply has lost its cancel: a
loop around such a request goes on, and whoever waits for the task waits for ever
(``cchc.runtime.waiting.cancel_and_wait`` cancels again).
"""

import argparse
import asyncio
import platform
from importlib.metadata import version
import random
import tempfile
import time
from pathlib import Path

import nats

from cchc.runtime.natsserver import NatsServer


async def main(tries: int) -> None:
    folder = tempfile.TemporaryDirectory()
    server = NatsServer(store_dir=Path(folder.name)).start()
    try:
        nc = await nats.connect(server.url)

        async def answer(msg) -> None:  # type: ignore[no-untyped-def]
            await msg.respond(b"pong")

        await nc.subscribe("probe", cb=answer)
        started = time.perf_counter()
        for _ in range(200):
            await nc.request("probe", b"ping", timeout=5)
        round_trip = (time.perf_counter() - started) / 200
        lost = cancelled = answered_first = 0
        for _ in range(tries):
            task = asyncio.create_task(nc.request("probe", b"ping", timeout=5))
            await asyncio.sleep(random.uniform(0, 2 * round_trip))
            if not task.cancel():
                answered_first += 1  # ended before the cancel: nothing to lose
                continue
            try:
                await task
                lost += 1  # the cancel was sent to a running task, and it returned a reply
            except asyncio.CancelledError:
                cancelled += 1
        await nc.close()
    finally:
        server.stop()
        folder.cleanup()
    print(f"Python {platform.python_version()}, nats-py {version('nats-py')}, "
          f"round trip {round_trip * 1e6:.0f} µs")
    print(f"{tries} tries: cancel lost {lost}, cancel obeyed {cancelled}, "
          f"reply before the cancel {answered_first}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tries", type=int, default=4000)
    asyncio.run(main(parser.parse_args().tries))
