"""Wiring: the planning service process (NATS, event store, read model, remediation, endpoints)."""

from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.planning.aggregates import CONTEXT
from cchc.planning.config import PlanningSettings
from cchc.planning.handlers import PlanningCommandHandlers
from cchc.planning.processes import RemediationProcess
from cchc.planning.projections import PlanningReadModel
from cchc.planning.queries import PlanningQueries
from cchc.planning.subscribers import SERVICE, endpoints
from cchc.runtime import service
from cchc.runtime.endpoints import ServiceRouter
from cchc.runtime.entry_window import entry_window
from cchc.runtime.eventstore import EventStore
from cchc.runtime.projection import ProjectionRunner


class PlanningService(service.ServiceProcess):
    """One running instance: answers commands and queries, keeps its read model up to date and
    turns inspection shortcomings into remediation tasks."""

    name = SERVICE
    contexts = (CONTEXT,)
    settings: PlanningSettings

    @property
    def runner(self) -> ProjectionRunner:
        return self.runners[0]

    @property
    def remediation(self) -> ProjectionRunner:
        return self.runners[1]

    def projection_runners(self, nc: NATS, engine: AsyncEngine) -> list[ProjectionRunner]:
        batch_size = self.settings.projection_batch_size
        return [
            ProjectionRunner(nc, engine, PlanningReadModel(), batch_size=batch_size),
            # Each remediation appends to NATS while its batch transaction is open: small
            # batches keep that transaction (and SQLite's write lock) short.
            ProjectionRunner(nc, engine, RemediationProcess(EventStore(nc, signer=self.signer)),
                             batch_size=min(batch_size, 50)),
        ]

    def endpoints(self, nc: NATS, engine: AsyncEngine) -> ServiceRouter:
        queries = PlanningQueries(engine, self.runner)
        handlers = PlanningCommandHandlers(EventStore(nc, signer=self.signer),
                                           entry_window(self.settings))
        return endpoints(handlers, queries, self.health,
                         self.settings.max_workers)

    def health_positions(self) -> dict[str, int]:
        return {"projection_position": self.runner.position,
                "remediation_position": self.remediation.position}


def main() -> None:
    service.main(PlanningService(PlanningSettings()))


if __name__ == "__main__":
    main()
