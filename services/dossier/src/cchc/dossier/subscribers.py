"""Entrypoints: the dossier service's endpoints, each a typed FastStream subscriber."""

from collections.abc import Callable
from typing import Any

from cchc.contracts.dossier_commands import SERVICE
from cchc.dossier.alert_queries import AlertQueries
from cchc.dossier.form_queries import FormQueries
from cchc.dossier.handlers import DossierCommandHandlers
from cchc.dossier.queries import DossierQueries
from cchc.runtime.endpoints import ServiceRouter

__all__ = ["SERVICE", "endpoints"]


def endpoints(
    commands: DossierCommandHandlers, queries: DossierQueries, health: Callable[..., Any],
    max_workers: int, forms: FormQueries | None = None, alerts: AlertQueries | None = None,
) -> ServiceRouter:
    """The service passes ``forms`` and ``alerts`` (the alerts read their own projection);
    without them, they read through ``queries``' engine and runner (tests of the routing)."""
    forms = forms or FormQueries(queries.engine, queries.runner)
    alerts = alerts or AlertQueries(queries.engine, queries.runner, queries.runner)
    return ServiceRouter.of(SERVICE, {
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
        "procedures-published": queries.procedures_published,
        "dossier-stats-by-field": forms.dossier_stats_by_field,
        "alerts": alerts.alerts_of_day,
        "receipt-slip": queries.receipt_slip,
        "public-dossier": queries.public_dossier,
        "public-board": queries.public_board,
        "health": health,
    }, max_workers)
