"""How long the embedded stack takes to stop, at rest (every projection idle at the log's head).

    .venv/bin/python bench/stack_stop.py            # 3 runs
    .venv/bin/python bench/stack_stop.py --runs 5

Each run starts ``cchc up``'s stack (its own nats-server, SQLite, a fresh data folder), waits
for ``/health``, then asks it to stop as SIGTERM does and times the stop, and each service's
part of it. What a stop costs shows in every restart of `cchc up`, in a rolling update's pod
shutdown, and in the test suite, which starts and stops such stacks dozens of times. Not part
of the test run.
"""

import argparse
import asyncio
import logging
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from cchc.cli.stack import EmbeddedStack
from cchc.runtime.natsserver import free_port

from broker_load import wait_healthy  # bench/, beside this


async def one_stop(folder: Path) -> tuple[float, dict[str, float]]:
    stack = EmbeddedStack(folder, free_port())
    await stack.start()
    serving = asyncio.create_task(stack.serve())
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{stack.http_port}") as api:
        await wait_healthy(api, seconds=60)
    parts: dict[str, float] = {}
    for service in stack.services:
        stop = service.stop

        async def timed(stop=stop, name=service.name) -> None:  # type: ignore[no-untyped-def]
            began = time.perf_counter()
            await stop()
            parts[name] = time.perf_counter() - began

        service.stop = timed  # type: ignore[method-assign]
    began = time.perf_counter()
    stack.request_stop()
    await asyncio.wait_for(serving, 60)
    return time.perf_counter() - began, parts


async def main(runs: int) -> None:
    totals = []
    for run in range(1, runs + 1):
        with tempfile.TemporaryDirectory() as folder:
            total, parts = await one_stop(Path(folder))
        totals.append(total)
        shown = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in parts.items())
        print(f"run {run}: stopped in {total:.2f} s ({shown})")
    print(f"median of {runs}: {statistics.median(totals):.2f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main(parser.parse_args().runs))
