"""The planning read model: each event of the PLANNING stream becomes row changes.

Runs inside the projection runner's batch transaction; SQL Core statements only, so the same
code runs on SQLite and PostgreSQL and a rebuild replays fast.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import decode_event
from cchc.planning import tables
from cchc.planning.aggregates import CONTEXT, remediation_task_id
from cchc.planning.domain.calendar import local_date

Applier = Callable[[AsyncConnection, EventEnvelope, Any], Awaitable[None]]


class PlanningReadModel:
    name = "planning-read-v1"
    context = CONTEXT
    metadata = tables.metadata

    async def apply(self, conn: AsyncConnection, envelope: EventEnvelope) -> None:
        applier = _APPLIERS.get(envelope.type)
        if applier is None:
            return  # a type this version does not read (a newer producer): nothing to show
        event = decode_event(envelope.type, envelope.schema_version, envelope.payload)
        await applier(conn, envelope, event)


async def _plan_issued(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(
        insert(tables.plans).values(
            id=event.plan_id, agency=event.agency, year=event.year, title=event.title,
            issued_at=event.issued_at, version=envelope.aggregate_version,
            position=envelope.position,
        )
    )


async def _task_added(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(
        insert(tables.tasks).values(
            id=event.task_id, plan_id=event.plan_id, agency=event.agency, year=event.year,
            title=event.title, area=event.area.value, due_date=event.due_date, owner=event.owner,
            status="in_progress", percent=0, added_at=event.added_at,
            added_on=local_date(event.added_at), finding_id=event.finding_id,
            version=envelope.aggregate_version, position=envelope.position,
        )
    )
    await _due_date(conn, envelope, event.plan_id, event.added_at, event.due_date)


async def _progress_reported(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await _set_task(conn, envelope, percent=event.percent)


async def _completed(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await _set_task(
        conn, envelope, status="completed", percent=100, completed_at=event.completed_at,
        completed_on=local_date(event.completed_at), on_time=event.on_time,
    )


async def _cancelled(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await _set_task(
        conn, envelope, status="cancelled", cancelled_at=event.cancelled_at,
        cancelled_on=local_date(event.cancelled_at),
    )


async def _rescheduled(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await _set_task(conn, envelope, due_date=event.new_due_date)
    task = tables.tasks.c
    plan_id = (
        await conn.execute(select(task.plan_id).where(task.id == envelope.aggregate_id))
    ).scalar_one()
    await _due_date(conn, envelope, plan_id, event.rescheduled_at, event.new_due_date)


async def _inspection_opened(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(
        insert(tables.inspections).values(
            id=event.inspection_id, agency=event.agency, inspected_on=event.inspected_on,
            team_lead=event.team_lead, scope=event.scope, version=envelope.aggregate_version,
            position=envelope.position,
        )
    )


async def _finding_recorded(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(
        insert(tables.findings).values(
            id=event.finding_id, inspection_id=event.inspection_id, agency=event.agency,
            kind=event.kind.value, text=event.text,
            remediation=event.remediation.model_dump(mode="json") if event.remediation else None,
            remediation_task_id=(
                remediation_task_id(event.finding_id) if event.remediation else None
            ),
            recorded_at=event.recorded_at, position=envelope.position,
        )
    )
    await conn.execute(
        update(tables.inspections)
        .where(tables.inspections.c.id == event.inspection_id)
        .values(version=envelope.aggregate_version, position=envelope.position)
    )


async def _set_task(conn: AsyncConnection, envelope: EventEnvelope, **values: Any) -> None:
    await conn.execute(
        update(tables.tasks)
        .where(tables.tasks.c.id == envelope.aggregate_id)
        .values(version=envelope.aggregate_version, position=envelope.position, **values)
    )


async def _due_date(
    conn: AsyncConnection, envelope: EventEnvelope, plan_id: str, valid_from: datetime, due: Any
) -> None:
    await conn.execute(
        insert(tables.task_due_dates).values(
            position=envelope.position, task_id=envelope.aggregate_id, plan_id=plan_id,
            valid_from=valid_from, valid_on=local_date(valid_from), due_date=due,
        )
    )


_APPLIERS: dict[str, Applier] = {
    "PlanIssued": _plan_issued,
    "TaskAdded": _task_added,
    "TaskProgressReported": _progress_reported,
    "TaskCompleted": _completed,
    "TaskCancelled": _cancelled,
    "TaskRescheduled": _rescheduled,
    "InspectionOpened": _inspection_opened,
    "FindingRecorded": _finding_recorded,
}
