"""The dossier read model: the events of the DOSSIER stream become rows, a batch at a time.

Runs inside the projection runner's batch transaction. A batch is folded in memory first — a
dossier received and resolved in the same batch is inserted once, already resolved; an existing
dossier touched several times is updated once with the merged values — then written with one
bulk statement per kind of row. SQL Core only: the same code runs on SQLite and PostgreSQL.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import bindparam, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import Event, decode_event
from cchc.dossier import tables
from cchc.dossier.aggregates import CONTEXT, REFERENCE_EVENT_TYPES
from cchc.dossier.domain.calendar import local_date


@dataclass
class RowChanges:
    """What one batch writes, folded per dossier."""

    agencies: list[dict[str, Any]] = field(default_factory=list)
    procedures: list[dict[str, Any]] = field(default_factory=list)
    calendar_days: dict[Any, dict[str, Any]] = field(default_factory=dict)
    new_dossiers: dict[str, dict[str, Any]] = field(default_factory=dict)
    dossier_updates: dict[str, dict[str, Any]] = field(default_factory=dict)
    due_periods: list[dict[str, Any]] = field(default_factory=list)
    history: list[dict[str, Any]] = field(default_factory=list)

    def set(self, envelope: EventEnvelope, **values: Any) -> None:
        values.update(version=envelope.aggregate_version, position=envelope.position)
        row = self.new_dossiers.get(envelope.aggregate_id)
        if row is None:
            row = self.dossier_updates.setdefault(envelope.aggregate_id, {})
        row.update(values)

    def due_period(self, envelope: EventEnvelope, valid_from: Any, due_at: Any) -> None:
        self.due_periods.append({
            "position": envelope.position, "dossier_id": envelope.aggregate_id,
            "valid_from": valid_from, "due_on": local_date(due_at) if due_at else None,
        })

    async def write(self, conn: AsyncConnection) -> None:
        if self.agencies:
            await conn.execute(insert(tables.agencies), self.agencies)
        if self.procedures:
            await conn.execute(insert(tables.procedures), self.procedures)
        if self.calendar_days:
            days = tables.calendar_days
            await conn.execute(delete(days).where(days.c.day.in_(list(self.calendar_days))))
            await conn.execute(insert(days), list(self.calendar_days.values()))
        if self.new_dossiers:
            await conn.execute(insert(tables.dossiers), list(self.new_dossiers.values()))
        await self._write_updates(conn)
        if self.due_periods:
            await conn.execute(insert(tables.due_periods), self.due_periods)
        if self.history:
            await conn.execute(insert(tables.history), self.history)

    async def _write_updates(self, conn: AsyncConnection) -> None:
        # One executemany per set of columns; each dossier appears once, so order is free.
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for dossier_id, values in self.dossier_updates.items():
            columns = tuple(sorted(values))
            by_columns.setdefault(columns, []).append(
                {"dossier_id": dossier_id, **{f"new_{c}": v for c, v in values.items()}}
            )
        d = tables.dossiers
        for columns, rows in by_columns.items():
            statement = (
                update(d).where(d.c.id == bindparam("dossier_id"))
                .values({c: bindparam(f"new_{c}") for c in columns})
            )
            await conn.execute(statement, rows)


def _agency_registered(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.agencies.append({"code": event.code, "name": event.name, "group": event.group.value,
                          "registered_at": envelope.recorded_at})


def _procedure_published(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.procedures.append({
        "code": event.code, "name": event.name, "agency": event.agency, "field": event.field,
        "processing_days": event.processing_days, "online_level": event.online_level.value,
        "published_at": event.published_at,
    })


def _calendar_day_declared(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.calendar_days[event.date] = {"day": event.date, "kind": event.kind.value, "note": event.note}


def _received(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    # Keyed by the envelope's aggregate id, like every later change and due period of it.
    rows.new_dossiers[envelope.aggregate_id] = {
        "id": envelope.aggregate_id, "agency": event.agency, "procedure": event.procedure,
        "channel": event.channel.value, "status": "in_progress", "received_at": event.received_at,
        "received_on": event.receipt_day, "processing_days": event.processing_days,
        "due_at": event.due_at, "appointment_at": event.due_at, "resolved_at": None,
        "resolved_on": None, "timeliness": None, "outcome": None, "returned_at": None,
        "withdrawn_at": None, "withdrawn_on": None, "closed_on": None,
        "applicant": event.applicant, "version": envelope.aggregate_version,
        "position": envelope.position,
    }
    rows.due_period(envelope, event.received_at, event.due_at)


def _supplement_requested(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.set(envelope, status="awaiting_supplement", due_at=None, appointment_at=None)
    rows.due_period(envelope, event.requested_at, None)


def _supplemented(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.set(envelope, status="in_progress", due_at=event.due_at, appointment_at=event.due_at)
    rows.due_period(envelope, event.supplemented_at, event.due_at)


def _extended(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.set(envelope, appointment_at=event.new_due_at)


def _resolved(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    resolved_on = local_date(event.resolved_at)
    rows.set(envelope, status="resolved", resolved_at=event.resolved_at, resolved_on=resolved_on,
             timeliness=event.timeliness.value, outcome=event.outcome.value, closed_on=resolved_on)


def _returned(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    rows.set(envelope, status="returned", returned_at=event.returned_at)


def _withdrawn(rows: RowChanges, envelope: EventEnvelope, event: Any) -> None:
    withdrawn_on = local_date(event.withdrawn_at)
    rows.set(envelope, status="withdrawn", withdrawn_at=event.withdrawn_at,
             withdrawn_on=withdrawn_on, closed_on=withdrawn_on)


_FOLDERS: dict[str, Callable[[RowChanges, EventEnvelope, Event], None]] = {
    "AgencyRegistered": _agency_registered,
    "ProcedurePublished": _procedure_published,
    "CalendarDayDeclared": _calendar_day_declared,
    "DossierReceived": _received,
    "SupplementRequested": _supplement_requested,
    "DossierSupplemented": _supplemented,
    "DossierExtended": _extended,
    "DossierResolved": _resolved,
    "ResultReturned": _returned,
    "DossierWithdrawn": _withdrawn,
}


def _history_row(envelope: EventEnvelope) -> dict[str, Any]:
    return {
        "position": envelope.position, "dossier_id": envelope.aggregate_id, "type": envelope.type,
        "version": envelope.aggregate_version, "occurred_at": envelope.occurred_at,
        "recorded_at": envelope.recorded_at, "actor": envelope.actor, "payload": envelope.payload,
    }


class DossierReadModel:
    name = "dossier-read-v1"
    context = CONTEXT
    metadata = tables.metadata

    async def apply(self, conn: AsyncConnection, envelope: EventEnvelope) -> None:
        await self.apply_batch(conn, [envelope])

    async def apply_batch(self, conn: AsyncConnection, envelopes: list[EventEnvelope]) -> None:
        rows = RowChanges()
        for envelope in envelopes:
            fold = _FOLDERS.get(envelope.type)
            if fold is None:
                continue  # a type this version does not read (a newer producer): nothing to show
            fold(rows, envelope, decode_event(envelope.type, envelope.schema_version, envelope.payload))
            if envelope.type not in REFERENCE_EVENT_TYPES:
                rows.history.append(_history_row(envelope))
        await rows.write(conn)
