"""Wiring: the planning service process (NATS, event store, read model, remediation, endpoints)."""

import asyncio
import logging
import signal

import nats
from nats.aio.client import Client as NATS

from cchc.contracts.messages import Reply, Request
from cchc.planning.aggregates import CONTEXT
from cchc.planning.config import PlanningSettings
from cchc.planning.handlers import PlanningCommandHandlers
from cchc.planning.processes import RemediationProcess
from cchc.planning.projections import PlanningReadModel
from cchc.planning.queries import PlanningQueries
from cchc.planning.subscribers import SERVICE, endpoints
from cchc.runtime.eventstore import EventStore
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.rpc import serve
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream

log = logging.getLogger("cchc.planning")

STOP_GRACE_S = 5.0


class PlanningService:
    """One running instance: answers commands and queries, keeps its read model up to date and
    turns inspection shortcomings into remediation tasks."""

    def __init__(self, settings: PlanningSettings) -> None:
        self.settings = settings
        self.nc: NATS | None = None
        self.runner: ProjectionRunner | None = None
        self.remediation: ProjectionRunner | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._subscriptions: list = []
        self.ready = False

    async def start(self) -> None:
        self.nc = await nats.connect(
            self.settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            name="cchc-planning",
        )
        await ensure_event_stream(self.nc.jetstream(), CONTEXT, self.settings.stream_replicas)
        self.engine = create_engine(self.settings.database_url)
        store = EventStore(self.nc)
        batch_size = self.settings.projection_batch_size
        self.runner = ProjectionRunner(
            self.nc, self.engine, PlanningReadModel(), batch_size=batch_size
        )
        # Each remediation appends to NATS while its batch transaction is open: small batches keep
        # that transaction (and SQLite's write lock) short.
        self.remediation = ProjectionRunner(
            self.nc, self.engine, RemediationProcess(store), batch_size=min(batch_size, 50)
        )
        await self.runner.setup()
        await self.remediation.setup()
        commands = PlanningCommandHandlers(store)
        queries = PlanningQueries(self.engine, self.runner)
        self._subscriptions = await serve(
            self.nc, SERVICE, endpoints(commands, queries, self.health)
        )
        self._tasks.append(
            asyncio.create_task(self.runner.run(self._stop), name="planning-projection")
        )
        self._tasks.append(
            asyncio.create_task(self.remediation.run(self._stop), name="planning-remediation")
        )
        self.ready = True
        log.info("planning service ready (projection at %d)", self.runner.position)

    async def health(self, request: Request) -> Reply:
        return Reply(
            ok=self.ready,
            result={
                "service": SERVICE,
                "projection_position": self.runner.position if self.runner else 0,
                "remediation_position": self.remediation.position if self.remediation else 0,
            },
        )

    async def stop(self) -> None:
        self.ready = False
        self._stop.set()
        # Let answers in flight go out, and let each runner finish its batch (a remediation
        # half done is healed on the next start, but a clean stop needs no healing).
        await asyncio.gather(
            *(subscription.drain() for subscription in self._subscriptions),
            return_exceptions=True,
        )
        if self._tasks:
            _, running = await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
            for task in running:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.nc is not None:
            # close, not drain: draining the runners' idle pull subscriptions waits out the whole
            # drain timeout (30 s), and everything that matters is already flushed above.
            await self.nc.close()
        await self.engine.dispose()


async def run(settings: PlanningSettings) -> None:
    service = PlanningService(settings)
    await service.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await service.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(PlanningSettings()))


if __name__ == "__main__":
    main()
