"""The process every service is: NATS, its streams, its projections, its endpoints, in order.

A service says what it is (its name, the streams it needs, its projection runners and its
endpoints); starting and stopping are the same for all of them:

- start: connect (reconnecting for ever), make sure the streams exist, create the engine, set
  up every projection, answer requests, then run the projections;
- stop: stop answering (answers in flight still go out), let each projection finish its batch
  (at most ``STOP_GRACE_S``), then close NATS and the engine.
"""

import asyncio
import logging
import signal
from abc import ABC, abstractmethod
from typing import Any, Protocol

import nats
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.contracts.messages import Reply, Request
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.rpc import serve
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream

log = logging.getLogger("cchc.service")

STOP_GRACE_S = 5.0


class ServiceSettings(Protocol):
    nats_url: str
    database_url: str
    stream_replicas: int
    projection_batch_size: int


class ServiceProcess(ABC):
    """One running instance of a service."""

    name: str  # the service's endpoint prefix and connection name
    contexts: tuple[str, ...]  # the streams it reads or writes (created when missing)

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.nc: NATS | None = None
        self.engine: AsyncEngine | None = None
        self.runners: list[ProjectionRunner] = []
        self.ready = False
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._subscriptions: list[Any] = []

    @abstractmethod
    def projection_runners(self, nc: NATS, engine: AsyncEngine) -> list[ProjectionRunner]:
        """The runners this service keeps going; the first is its read model."""

    @abstractmethod
    def endpoints(self, nc: NATS, engine: AsyncEngine) -> dict[str, Any]:
        """Its request handlers by endpoint name (``self.health`` among them)."""

    def health_positions(self) -> dict[str, int]:
        """What the health endpoint reports of the projections."""
        return {"projection_position": self.runners[0].position if self.runners else 0}

    async def start(self) -> None:
        self.nc = await nats.connect(
            self.settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            name=f"cchc-{self.name}",
        )
        js = self.nc.jetstream()
        for context in self.contexts:
            await ensure_event_stream(js, context, self.settings.stream_replicas)
        self.engine = create_engine(self.settings.database_url)
        self.runners = self.projection_runners(self.nc, self.engine)
        for runner in self.runners:
            await runner.setup()
        self._subscriptions = await serve(self.nc, self.name, self.endpoints(self.nc, self.engine))
        for runner in self.runners:
            self._tasks.append(asyncio.create_task(runner.run(self._stop), name=runner.name))
        self.ready = True
        log.info("%s service ready (%s)", self.name, ", ".join(
            f"{runner.name} at {runner.position}" for runner in self.runners))

    async def health(self, request: Request) -> Reply:
        return Reply(ok=self.ready, result={"service": self.name, **self.health_positions()})

    async def stop(self) -> None:
        self.ready = False
        self._stop.set()
        await asyncio.gather(
            *(subscription.drain() for subscription in self._subscriptions),
            return_exceptions=True,
        )
        if self._tasks:
            _, running = await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
            for task in running:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for runner in self.runners:
            await runner.close()
        if self.nc is not None:
            # close, not drain: everything that matters is flushed above, and draining idle
            # subscriptions would wait out the whole drain timeout.
            await self.nc.close()
        if self.engine is not None:
            await self.engine.dispose()


async def run_until_signalled(service: ServiceProcess) -> None:
    """Run ``service`` until SIGINT or SIGTERM, then stop it in order."""
    await service.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await service.stop()


def main(service: ServiceProcess) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run_until_signalled(service))
