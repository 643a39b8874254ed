"""The alerts projection: dossier events in, open dossiers with their due dates out.

A dossier enters on receipt; a supplement request stops its clock (no due date), the
supplementation restarts it with a new due date; an extension moves only the appointment (the
statutory due date, which alerts warn about, stays); resolution or withdrawal removes it.

A batch is folded in memory first (a dossier received and resolved in the same batch is never
written), then written with one statement per kind of change.
"""

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import decode_event
from cchc.dossier import alert_tables
from cchc.dossier.aggregates import CONTEXT
from cchc.dossier.domain.calendar import local_date
from cchc.runtime.bulk_rows import delete_rows, insert_rows, update_rows

_rows = alert_tables.open_dossiers


def _applicant_name(applicant: Any) -> str | None:
    name = applicant.get("name") if isinstance(applicant, dict) else None
    return str(name)[:300] if name else None


@dataclass
class AlertChanges:
    """One batch's changes, folded per dossier."""

    new: dict[str, dict[str, Any]] = field(default_factory=dict)  # received in this batch
    updates: dict[str, dict[str, Any]] = field(default_factory=dict)  # rows already written
    gone: set[str] = field(default_factory=set)  # rows already written, now closed

    def received(self, dossier_id: str, row: dict[str, Any]) -> None:
        self.gone.discard(dossier_id)
        self.updates.pop(dossier_id, None)
        self.new[dossier_id] = row

    def change(self, dossier_id: str, **values: Any) -> None:
        if dossier_id in self.new:
            self.new[dossier_id].update(values)
        elif dossier_id not in self.gone:
            self.updates.setdefault(dossier_id, {}).update(values)

    def close(self, dossier_id: str) -> None:
        if self.new.pop(dossier_id, None) is None:
            self.updates.pop(dossier_id, None)
            self.gone.add(dossier_id)

    async def write(self, conn: AsyncConnection) -> None:
        ids = sorted(self.gone | set(self.new))  # a receipt replayed: written once
        await delete_rows(conn, _rows, "dossier_id", ids)
        if self.new:
            await insert_rows(conn, _rows, list(self.new.values()))
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for dossier_id, values in self.updates.items():
            by_columns.setdefault(tuple(sorted(values)), []).append(
                {"dossier_id": dossier_id, **values})
        for rows in by_columns.values():
            await update_rows(conn, _rows, "dossier_id", rows)


def _received(changes: AlertChanges, envelope: EventEnvelope, event: Any) -> None:
    changes.received(envelope.aggregate_id, {
        "dossier_id": envelope.aggregate_id, "agency": event.agency, "procedure": event.procedure,
        "receipt_code": event.receipt_code,
        "applicant_name": _applicant_name(event.applicant), "received_at": event.received_at,
        "due_at": event.due_at, "due_on": local_date(event.due_at), "appointment_at": None,
        "position": envelope.position})


def _supplement_requested(changes: AlertChanges, envelope: EventEnvelope, event: Any) -> None:
    changes.change(envelope.aggregate_id, due_at=None, due_on=None, appointment_at=None,
                   position=envelope.position)


def _supplemented(changes: AlertChanges, envelope: EventEnvelope, event: Any) -> None:
    changes.change(envelope.aggregate_id, due_at=event.due_at, due_on=local_date(event.due_at),
                   appointment_at=None, position=envelope.position)


def _extended(changes: AlertChanges, envelope: EventEnvelope, event: Any) -> None:
    changes.change(envelope.aggregate_id, appointment_at=event.new_due_at,
                   position=envelope.position)


def _closed(changes: AlertChanges, envelope: EventEnvelope, event: Any) -> None:
    changes.close(envelope.aggregate_id)


_FOLDERS = {
    "DossierReceived": _received,
    "SupplementRequested": _supplement_requested,
    "DossierSupplemented": _supplemented,
    "DossierExtended": _extended,
    "DossierResolved": _closed,
    "DossierWithdrawn": _closed,
}


class DossierAlertsProjection:
    name = "dossier-alerts-v1"
    context = CONTEXT
    metadata = alert_tables.metadata

    async def apply(self, conn: AsyncConnection, envelope: EventEnvelope) -> None:
        await self.apply_batch(conn, [envelope])

    async def apply_batch(self, conn: AsyncConnection, envelopes: list[EventEnvelope]) -> None:
        changes = AlertChanges()
        for envelope in envelopes:
            fold = _FOLDERS.get(envelope.type)
            if fold is None:
                continue  # reference data, a returned result, or a type this version ignores
            fold(changes, envelope,
                 decode_event(envelope.type, envelope.schema_version, envelope.payload))
        await changes.write(conn)
