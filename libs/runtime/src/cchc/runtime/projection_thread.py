"""A service's projections on a thread and an event loop of their own.

In the embedded default one process runs the gateway, the services and their projections; on
one event loop, a projection's batch waits behind every request in flight at each of its SQL
statements (aiosqlite answers each on the loop), so at 16 clients a batch of 4 receipts took
~18 ms to apply (p99 ~110 ms) and command-to-projection p99 was 130-220 ms (bench/run.py). On
its own loop, with its own NATS connection (the service's user and inbox prefix) and its own
engine, a batch no longer queues behind requests. The runners are the same objects the
queries hold: ``position`` is read across threads, and ``wait_for`` is woken on the waiter's own
loop (``ProjectionRunner._notify``).

Started and stopped by ``ServiceProcess`` when its settings ask (``projection_thread``).
"""

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from typing import Any

import nats
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine

log = logging.getLogger("cchc.projection_thread")

RunnerFactory = Callable[[NATS, AsyncEngine], list[ProjectionRunner]]


class ProjectionThread:
    def __init__(self, name: str, nats_url: str, database_url: str, runners: RunnerFactory,
                 stop_grace_s: float, **connect: Any) -> None:
        self.name = name
        self._nats_url = nats_url
        self._database_url = database_url
        self._make_runners = runners
        self._stop_grace_s = stop_grace_s
        self._connect = connect
        self._ready: concurrent.futures.Future[list[ProjectionRunner]] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._main, name=f"{name}-projections",
                                        daemon=True)

    async def start(self) -> list[ProjectionRunner]:
        """Start the thread; returns the runners once every one is set up (tables made)."""
        self._thread.start()
        return await asyncio.wrap_future(self._ready)

    async def stop(self) -> None:
        """Let each runner finish its batch (at most the grace), then close and join."""
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            try:
                self._loop.call_soon_threadsafe(self._stop.set)
            except RuntimeError:  # the loop ended already
                pass
        await asyncio.to_thread(self._thread.join, self._stop_grace_s + 10)

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # noqa: BLE001 - the starter hears of it
            if not self._ready.done():
                self._ready.set_exception(error)
            else:
                log.exception("%s: projection thread failed", self.name)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        nc = await nats.connect(self._nats_url, name=f"cchc-{self.name}-projections",
                                max_reconnect_attempts=-1, reconnect_time_wait=1,
                                **self._connect)
        engine = create_engine(self._database_url)
        runners: list[ProjectionRunner] = []
        tasks: list[asyncio.Task[None]] = []
        try:
            runners = self._make_runners(nc, engine)
            for runner in runners:
                await runner.setup()
            tasks = [asyncio.create_task(runner.run(self._stop), name=runner.name)
                     for runner in runners]
            self._ready.set_result(runners)
            await self._stop.wait()
            _, running = await asyncio.wait(tasks, timeout=self._stop_grace_s)
            for task in running:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            for task in tasks:
                task.cancel()
            for runner in runners:
                await runner.close()
            await nc.drain()
            await engine.dispose()
