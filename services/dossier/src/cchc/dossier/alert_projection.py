"""The alerts projection: dossier events in, open dossiers with their due dates out.

A dossier enters on receipt; a supplement request stops its clock (no due date), the
supplementation restarts it with a new due date; an extension moves only the appointment (the
statutory due date, which alerts warn about, stays); resolution or withdrawal removes it.
"""

from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import decode_event
from cchc.dossier import alert_tables
from cchc.dossier.aggregates import CONTEXT
from cchc.dossier.domain.calendar import local_date

_rows = alert_tables.open_dossiers


def _applicant_name(applicant: dict[str, Any]) -> str | None:
    name = applicant.get("name") if isinstance(applicant, dict) else None
    return str(name)[:300] if name else None


class DossierAlertsProjection:
    name = "dossier-alerts-v1"
    context = CONTEXT
    metadata = alert_tables.metadata

    async def apply(self, conn: AsyncConnection, envelope: EventEnvelope) -> None:
        kind = envelope.type
        if kind not in _HANDLED:
            return
        event: Any = decode_event(kind, envelope.schema_version, envelope.payload)
        dossier = _rows.c.dossier_id == envelope.aggregate_id
        if kind == "DossierReceived":
            await conn.execute(delete(_rows).where(dossier))  # a replayed receipt: once
            await conn.execute(insert(_rows).values(
                dossier_id=envelope.aggregate_id, agency=event.agency, procedure=event.procedure,
                applicant_name=_applicant_name(event.applicant), received_at=event.received_at,
                due_at=event.due_at, due_on=local_date(event.due_at), appointment_at=None,
                position=envelope.position))
        elif kind == "SupplementRequested":
            await conn.execute(update(_rows).where(dossier).values(
                due_at=None, due_on=None, appointment_at=None, position=envelope.position))
        elif kind == "DossierSupplemented":
            await conn.execute(update(_rows).where(dossier).values(
                due_at=event.due_at, due_on=local_date(event.due_at), appointment_at=None,
                position=envelope.position))
        elif kind == "DossierExtended":
            await conn.execute(update(_rows).where(dossier).values(
                appointment_at=event.new_due_at, position=envelope.position))
        else:  # resolved or withdrawn: nothing left to warn about
            await conn.execute(delete(_rows).where(dossier))


_HANDLED = frozenset({"DossierReceived", "SupplementRequested", "DossierSupplemented",
                      "DossierExtended", "DossierResolved", "DossierWithdrawn"})
