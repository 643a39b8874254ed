"""Wiring: the dossier service process (NATS, event store, projection, endpoints)."""

from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.dossier.aggregates import CONTEXT
from cchc.dossier.alert_projection import DossierAlertsProjection
from cchc.dossier.alert_queries import AlertQueries
from cchc.dossier.config import DossierSettings
from cchc.dossier.form_queries import FormQueries
from cchc.dossier.handlers import DossierCommandHandlers
from cchc.dossier.projections import DossierReadModel
from cchc.dossier.queries import DossierQueries
from cchc.dossier.receipt_book import ReceiptBook
from cchc.dossier.subscribers import SERVICE, endpoints
from cchc.runtime import service
from cchc.runtime.endpoints import ServiceRouter
from cchc.runtime.entry_window import entry_window
from cchc.runtime.eventstore import EventStore
from cchc.runtime.projection import ProjectionRunner


class DossierService(service.ServiceProcess):
    """One running instance: answers commands and queries, keeps its read model up to date."""

    name = SERVICE
    contexts = (CONTEXT,)
    settings: DossierSettings

    @property
    def runner(self) -> ProjectionRunner:
        return self.runners[0]

    def projection_runners(self, nc: NATS, engine: AsyncEngine) -> list[ProjectionRunner]:
        batch_size = self.settings.projection_batch_size
        return [ProjectionRunner(nc, engine, DossierReadModel(), batch_size=batch_size),
                ProjectionRunner(nc, engine, DossierAlertsProjection(), batch_size=batch_size)]

    def endpoints(self, nc: NATS, engine: AsyncEngine) -> ServiceRouter:
        queries = DossierQueries(engine, self.runner)
        store = EventStore(nc, signer=self.signer)
        handlers = DossierCommandHandlers(
            store, entry_window(self.settings),
            ReceiptBook(store, self.settings.stream_replicas), queries.dossier_id_of)
        return endpoints(handlers, queries, self.health, self.settings.max_workers,
                         forms=FormQueries(engine, self.runner),
                         alerts=AlertQueries(engine, self.runners[1], self.runner))


def main() -> None:
    service.main(DossierService(DossierSettings()))


if __name__ == "__main__":
    main()
