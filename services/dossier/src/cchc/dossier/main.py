"""Wiring: the dossier service process (NATS, event store, projection, endpoints)."""

import asyncio
import logging
import signal

import nats
from nats.aio.client import Client as NATS

from cchc.contracts.messages import Reply, Request
from cchc.dossier.aggregates import CONTEXT
from cchc.dossier.config import DossierSettings
from cchc.dossier.handlers import DossierCommandHandlers
from cchc.dossier.projections import DossierReadModel
from cchc.dossier.queries import DossierQueries
from cchc.dossier.subscribers import SERVICE, endpoints
from cchc.runtime.eventstore import EventStore
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.rpc import serve
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream

log = logging.getLogger("cchc.dossier")


class DossierService:
    """One running instance: answers commands and queries, keeps its read model up to date."""

    def __init__(self, settings: DossierSettings) -> None:
        self.settings = settings
        self.nc: NATS | None = None
        self.runner: ProjectionRunner | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._subscriptions: list = []
        self.ready = False

    async def start(self) -> None:
        self.nc = await nats.connect(
            self.settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            name="cchc-dossier",
        )
        await ensure_event_stream(self.nc.jetstream(), CONTEXT, self.settings.stream_replicas)
        self.engine = create_engine(self.settings.database_url)
        self.runner = ProjectionRunner(
            self.nc, self.engine, DossierReadModel(), batch_size=self.settings.projection_batch_size
        )
        await self.runner.setup()
        commands = DossierCommandHandlers(EventStore(self.nc))
        queries = DossierQueries(self.engine, self.runner)
        self._subscriptions = await serve(self.nc, SERVICE, endpoints(commands, queries, self.health))
        self._tasks.append(asyncio.create_task(self.runner.run(self._stop), name="dossier-projection"))
        self.ready = True
        log.info("dossier service ready (projection at %d)", self.runner.position)

    async def health(self, request: Request) -> Reply:
        position = self.runner.position if self.runner else 0
        return Reply(ok=self.ready, result={"service": SERVICE, "projection_position": position})

    async def stop(self) -> None:
        self.ready = False
        self._stop.set()
        for subscription in self._subscriptions:
            await subscription.unsubscribe()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.runner is not None:
            await self.runner.close()
        if self.nc is not None:
            await self.nc.close()
        await self.engine.dispose()


async def run(settings: DossierSettings) -> None:
    service = DossierService(settings)
    await service.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await service.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(DossierSettings()))


if __name__ == "__main__":
    main()
