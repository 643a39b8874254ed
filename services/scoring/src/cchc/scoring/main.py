"""Wiring: the scoring service process (NATS, event store, read model, metric projections,
endpoints)."""


from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.runtime import service
from cchc.runtime.endpoints import ServiceRouter
from cchc.runtime.entry_window import entry_window
from cchc.runtime.eventstore import EventStore
from cchc.runtime.projection import ProjectionRunner
from cchc.scoring.aggregates import CONTEXT
from cchc.scoring.config import ScoringSettings
from cchc.scoring.handlers import ScoringCommandHandlers
from cchc.scoring.projections import DossierMetrics, PlanningMetrics, ScoringReadModel
from cchc.scoring.queries import ScoringQueries
from cchc.scoring.subscribers import SERVICE, endpoints

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
                         consumer_name=DossierMetrics.name),
        ProjectionRunner(nc, engine, PlanningMetrics(), batch_size=batch_size,
                         consumer_name=PlanningMetrics.name),
    )


class ScoringService(service.ServiceProcess):
    """One running instance: answers commands and queries, keeps its read model and its own
    metric tables (from the dossier and planning streams) up to date."""

    name = SERVICE
    contexts = (CONTEXT, *WATCHED_CONTEXTS)
    settings: ScoringSettings

    @property
    def runner(self) -> ProjectionRunner:
        return self.runners[0]

    @property
    def dossier_metrics(self) -> ProjectionRunner:
        return self.runners[1]

    @property
    def planning_metrics(self) -> ProjectionRunner:
        return self.runners[2]

    def projection_runners(self, nc: NATS, engine: AsyncEngine) -> list[ProjectionRunner]:
        return list(projection_runners(nc, engine, self.settings.projection_batch_size))

    def endpoints(self, nc: NATS, engine: AsyncEngine) -> ServiceRouter:
        queries = ScoringQueries(engine, self.runner, self.dossier_metrics, self.planning_metrics)
        handlers = ScoringCommandHandlers(EventStore(nc, signer=self.signer), engine,
                                          entry_window(self.settings))
        return endpoints(handlers, queries, self.health,
                         self.settings.max_workers)

    def health_positions(self) -> dict[str, int]:
        return {
            "projection_position": self.runner.position,
            "dossier_metrics_position": self.dossier_metrics.position,
            "planning_metrics_position": self.planning_metrics.position,
        }


def main() -> None:
    service.main(ScoringService(ScoringSettings()))


if __name__ == "__main__":
    main()
