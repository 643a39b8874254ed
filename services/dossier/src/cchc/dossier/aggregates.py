"""Aggregate ids and subjects' agency tokens of the dossier context."""

from cchc.contracts.subjects import PROVINCE
from cchc.runtime.ids import derived_id

CONTEXT = "dossier"
CALENDAR_ID = "calendar"
CALENDAR_AGENCY = PROVINCE


def agency_id(code: str) -> str:
    return f"agency-{code}"


def procedure_id(code: str) -> str:
    # Procedure codes carry dots (e.g. 1.004227.000.00.00.H26); subjects cannot.
    return derived_id("procedure", code)


def dossier_id(idempotency_key: str | None) -> str | None:
    """The id of a dossier created under an idempotency key: a retry finds the same dossier."""
    return derived_id("dossier", idempotency_key) if idempotency_key else None

# Events about reference data rather than a dossier: no dossier history, no dossier reply.
REFERENCE_EVENT_TYPES = frozenset({"AgencyRegistered", "ProcedurePublished", "CalendarDayDeclared"})
