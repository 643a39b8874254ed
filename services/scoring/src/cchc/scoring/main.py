"""Wiring: the scoring service process (NATS, event store, read model, metric projections,
endpoints)."""

import asyncio
import logging
import signal

import nats
from cchc.contracts.messages import Reply, Request
from cchc.runtime.eventstore import EventStore
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.rpc import serve
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream
from cchc.scoring.aggregates import CONTEXT
from cchc.scoring.config import ScoringSettings
from cchc.scoring.handlers import ScoringCommandHandlers
from cchc.scoring.projections import DossierMetrics, PlanningMetrics, ScoringReadModel
from cchc.scoring.queries import ScoringQueries
from cchc.scoring.subscribers import SERVICE, endpoints
from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

log = logging.getLogger("cchc.scoring")

STOP_GRACE_S = 5.0
# The streams the auto criteria's metrics are projected from (created if this service starts
# first; an existing stream is never reconfigured).
WATCHED_CONTEXTS = ("dossier", "planning")


def projection_runners(
    nc: NATS, engine: AsyncEngine, batch_size: int = 500
) -> tuple[ProjectionRunner, ProjectionRunner, ProjectionRunner]:
    """The service's read model and its two metric projections (from the dossier and planning
    streams), each on its own durable consumer."""
    return (
        ProjectionRunner(nc, engine, ScoringReadModel(), batch_size=batch_size),
        ProjectionRunner(nc, engine, DossierMetrics(), batch_size=batch_size,
                         consumer_name="scoring-dossier-metrics-v1"),
        ProjectionRunner(nc, engine, PlanningMetrics(), batch_size=batch_size,
                         consumer_name="scoring-planning-metrics-v1"),
    )


class ScoringService:
    """One running instance: answers commands and queries, keeps its read model and its own
    metric tables (from the dossier and planning streams) up to date."""

    def __init__(self, settings: ScoringSettings) -> None:
        self.settings = settings
        self.nc: NATS | None = None
        self.runner: ProjectionRunner | None = None
        self.dossier_metrics: ProjectionRunner | None = None
        self.planning_metrics: ProjectionRunner | None = None
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []
        self._subscriptions: list = []
        self.ready = False

    @property
    def runners(self) -> list[ProjectionRunner]:
        return [r for r in (self.runner, self.dossier_metrics, self.planning_metrics) if r]

    async def start(self) -> None:
        self.nc = await nats.connect(
            self.settings.nats_url, max_reconnect_attempts=-1, reconnect_time_wait=0.5,
            name="cchc-scoring",
        )
        js = self.nc.jetstream()
        for context in (CONTEXT, *WATCHED_CONTEXTS):
            await ensure_event_stream(js, context, self.settings.stream_replicas)
        self.engine = create_engine(self.settings.database_url)
        self.runner, self.dossier_metrics, self.planning_metrics = projection_runners(
            self.nc, self.engine, self.settings.projection_batch_size
        )
        for runner in self.runners:
            await runner.setup()
        commands = ScoringCommandHandlers(EventStore(self.nc), self.engine)
        queries = ScoringQueries(
            self.engine, self.runner, self.dossier_metrics, self.planning_metrics
        )
        self._subscriptions = await serve(
            self.nc, SERVICE, endpoints(commands, queries, self.health)
        )
        for runner in self.runners:
            self._tasks.append(asyncio.create_task(runner.run(self._stop), name=runner.name))
        self.ready = True
        log.info("scoring service ready (projection at %d)", self.runner.position)

    async def health(self, request: Request) -> Reply:
        return Reply(
            ok=self.ready,
            result={
                "service": SERVICE,
                "projection_position": self.runner.position if self.runner else 0,
                "dossier_metrics_position": (
                    self.dossier_metrics.position if self.dossier_metrics else 0
                ),
                "planning_metrics_position": (
                    self.planning_metrics.position if self.planning_metrics else 0
                ),
            },
        )

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
            # close, not drain: draining the runners' idle pull subscriptions waits out the whole
            # drain timeout (30 s), and everything that matters is already flushed above.
            await self.nc.close()
        await self.engine.dispose()


async def run(settings: ScoringSettings) -> None:
    service = ScoringService(settings)
    await service.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    await stopped.wait()
    await service.stop()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    asyncio.run(run(ScoringSettings()))


if __name__ == "__main__":
    main()
