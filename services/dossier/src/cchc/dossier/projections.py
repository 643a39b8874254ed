"""The dossier read model: each event of the DOSSIER stream becomes row changes.

Runs inside the projection runner's batch transaction; SQL Core statements only, so the same
code runs on SQLite and PostgreSQL and a rebuild replays fast.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import decode_event
from cchc.dossier import tables
from cchc.dossier.aggregates import CONTEXT, REFERENCE_EVENT_TYPES
from cchc.dossier.domain.calendar import local_date

Applier = Callable[[AsyncConnection, EventEnvelope, Any], Awaitable[None]]


class DossierReadModel:
    name = "dossier-read-v1"
    context = CONTEXT
    metadata = tables.metadata

    async def apply(self, conn: AsyncConnection, envelope: EventEnvelope) -> None:
        applier = _APPLIERS.get(envelope.type)
        if applier is None:
            return  # a type this version does not read (a newer producer): nothing to show
        event = decode_event(envelope.type, envelope.schema_version, envelope.payload)
        await applier(conn, envelope, event)
        if envelope.type not in REFERENCE_EVENT_TYPES:
            await conn.execute(
                insert(tables.history).values(
                    position=envelope.position,
                    dossier_id=envelope.aggregate_id,
                    type=envelope.type,
                    version=envelope.aggregate_version,
                    occurred_at=envelope.occurred_at,
                    recorded_at=envelope.recorded_at,
                    actor=envelope.actor,
                    payload=envelope.payload,
                )
            )


async def _agency_registered(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(
        insert(tables.agencies).values(
            code=event.code, name=event.name, group=event.group.value,
            registered_at=envelope.recorded_at,
        )
    )


async def _procedure_published(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(
        insert(tables.procedures).values(
            code=event.code, name=event.name, agency=event.agency, field=event.field,
            processing_days=event.processing_days, online_level=event.online_level.value,
            published_at=event.published_at,
        )
    )


async def _calendar_day_declared(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(delete(tables.calendar_days).where(tables.calendar_days.c.day == event.date))
    await conn.execute(
        insert(tables.calendar_days).values(day=event.date, kind=event.kind.value, note=event.note)
    )


async def _received(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(
        insert(tables.dossiers).values(
            id=event.dossier_id, agency=event.agency, procedure=event.procedure,
            channel=event.channel.value, status="in_progress", received_at=event.received_at,
            received_on=event.receipt_day, processing_days=event.processing_days,
            due_at=event.due_at, appointment_at=event.due_at, applicant=event.applicant,
            version=envelope.aggregate_version, position=envelope.position,
        )
    )
    await _due_period(conn, envelope, event.received_at, event.due_at)


async def _supplement_requested(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await _set(conn, envelope, status="awaiting_supplement", due_at=None)
    await _due_period(conn, envelope, event.requested_at, None)


async def _supplemented(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await _set(conn, envelope, status="in_progress", due_at=event.due_at, appointment_at=event.due_at)
    await _due_period(conn, envelope, event.supplemented_at, event.due_at)


async def _extended(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await _set(conn, envelope, appointment_at=event.new_due_at)


async def _resolved(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    resolved_on = local_date(event.resolved_at)
    await _set(
        conn, envelope, status="resolved", resolved_at=event.resolved_at, resolved_on=resolved_on,
        timeliness=event.timeliness.value, outcome=event.outcome.value, closed_on=resolved_on,
    )


async def _returned(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await _set(conn, envelope, status="returned", returned_at=event.returned_at)


async def _withdrawn(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    withdrawn_on = local_date(event.withdrawn_at)
    await _set(
        conn, envelope, status="withdrawn", withdrawn_at=event.withdrawn_at,
        withdrawn_on=withdrawn_on, closed_on=withdrawn_on,
    )


async def _set(conn: AsyncConnection, envelope: EventEnvelope, **values: Any) -> None:
    await conn.execute(
        update(tables.dossiers)
        .where(tables.dossiers.c.id == envelope.aggregate_id)
        .values(version=envelope.aggregate_version, position=envelope.position, **values)
    )


async def _due_period(conn: AsyncConnection, envelope: EventEnvelope, valid_from, due_at) -> None:  # type: ignore[no-untyped-def]
    await conn.execute(
        insert(tables.due_periods).values(
            position=envelope.position, dossier_id=envelope.aggregate_id, valid_from=valid_from,
            due_on=local_date(due_at) if due_at else None,
        )
    )


_APPLIERS: dict[str, Applier] = {
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
