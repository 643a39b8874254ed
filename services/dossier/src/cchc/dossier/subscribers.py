"""Entrypoints: the dossier service's endpoints, each a typed FastStream subscriber."""

from cchc.dossier.handlers import DossierCommandHandlers
from cchc.dossier.queries import DossierQueries
from cchc.runtime.endpoints import ServiceRouter

SERVICE = "dossier"


def endpoints(commands: DossierCommandHandlers, queries: DossierQueries, health, max_workers: int) -> ServiceRouter:  # type: ignore[no-untyped-def]
    router = ServiceRouter(SERVICE, max_workers)
    for name, handler in {
        "register-agency": commands.register_agency,
        "publish-procedure": commands.publish_procedure,
        "declare-calendar-day": commands.declare_calendar_day,
        "receive-dossier": commands.receive_dossier,
        "request-supplement": commands.request_supplement,
        "supplement-dossier": commands.supplement_dossier,
        "extend-dossier": commands.extend_dossier,
        "resolve-dossier": commands.resolve_dossier,
        "return-result": commands.return_result,
        "withdraw-dossier": commands.withdraw_dossier,
        "get-dossier": queries.get_dossier,
        "list-dossiers": queries.list_dossiers,
        "dossier-stats": queries.dossier_stats,
        "list-agencies": queries.list_agencies,
        "list-procedures": queries.list_procedures,
        "health": health,
    }.items():
        router.endpoint(name, handler)
    return router
