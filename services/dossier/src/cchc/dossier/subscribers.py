"""Entrypoints: NATS request/reply endpoints translated into command and query handler calls."""

from collections.abc import Awaitable, Callable

from cchc.contracts.messages import Reply, Request
from cchc.dossier.handlers import DossierCommandHandlers
from cchc.dossier.queries import DossierQueries
from cchc.runtime.rpc import Handler

SERVICE = "dossier"


def endpoints(
    commands: DossierCommandHandlers, queries: DossierQueries, health: Handler
) -> dict[str, Handler]:
    table: dict[str, Callable[[Request], Awaitable[Reply]]] = {
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
    }
    return table
