"""The remediation process manager: an inspection's shortcoming becomes a task in the agency's plan.

It runs under a ProjectionRunner (its own durable consumer and checkpoint row) and reacts to
``FindingRecorded`` with a remediation by appending, through the event store, the plan of the
inspection's year when there is none yet (``PlanIssued``) and then the task (``TaskAdded`` with
``finding_id``). Exactly once in effect, whatever is redelivered or replayed: the task id and
both event ids are derived from the finding, every append expects version 0, and the store
recognises its own earlier event on a conflict or within the de-duplication window. A crash
between the two appends is healed by the next delivery, which finds the plan and adds the task.
"""

import logging
from datetime import datetime

from sqlalchemy import Column, MetaData, String, Table, delete, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import decode_event
from cchc.contracts.planning import FindingKind, FindingRecorded, PlanningEvent
from cchc.contracts.planning_commands import AddTask, IssuePlan
from cchc.planning import aggregates
from cchc.planning.aggregates import CONTEXT, REMEDIATION_ACTOR
from cchc.planning.domain import model
from cchc.planning.domain.errors import DomainError
from cchc.planning.handlers import PLAN
from cchc.runtime.eventstore import AggregateHistory, ConcurrencyConflict, EventStore, Metadata
from cchc.runtime.sqltypes import UtcDateTime

log = logging.getLogger("cchc.planning.remediation")

metadata = MetaData()

# What the process did about each finding: for operators, and so a rebuilt read of it exists.
remediations = Table(
    "planning_remediations",
    metadata,
    Column("finding_id", String(40), primary_key=True),
    Column("plan_id", String(40), nullable=False),
    Column("task_id", String(40), nullable=False),
    Column("outcome", String(200), nullable=False),
    Column("handled_at", UtcDateTime(), nullable=False),
)


def remediation_plan_title(year: int) -> str:
    return f"Kế hoạch cải cách hành chính năm {year}"


class RemediationProcess:
    name = "planning-remediation-v1"
    context = CONTEXT
    metadata = metadata

    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def apply(self, conn: AsyncConnection, envelope: EventEnvelope) -> None:
        if envelope.type != "FindingRecorded":
            return
        event = decode_event(envelope.type, envelope.schema_version, envelope.payload)
        assert isinstance(event, FindingRecorded)
        if event.kind is not FindingKind.SHORTCOMING or event.remediation is None:
            return
        outcome = await self.remedy(event, envelope)
        task_id = aggregates.remediation_task_id(event.finding_id)
        plan_id = aggregates.plan_id(event.agency, event.inspected_on.year)
        # Replaying after a drop meets rows of the first pass: the last word replaces them.
        handled = remediations.c.finding_id == event.finding_id
        await conn.execute(delete(remediations).where(handled))
        await conn.execute(
            insert(remediations).values(
                finding_id=event.finding_id, plan_id=plan_id, task_id=task_id, outcome=outcome,
                handled_at=event.recorded_at,
            )
        )

    async def remedy(self, finding: FindingRecorded, cause: EventEnvelope) -> str:
        """Ensure the remediation task exists; returns what was done (for the log and the table)."""
        assert finding.remediation is not None
        year = finding.inspected_on.year
        plan_id = aggregates.plan_id(finding.agency, year)
        task_id = aggregates.remediation_task_id(finding.finding_id)
        if (await self.store.look_up(CONTEXT, task_id)).exists:
            return "task already added"
        try:
            plan = await self._plan(plan_id, finding, cause)
            command = AddTask(
                title=finding.remediation.title, area=finding.remediation.area,
                due_date=finding.remediation.due_date, owner=finding.agency,
            )
            event = model.add_task(
                plan, None, task_id, command, added_at=finding.recorded_at,
                finding_id=finding.finding_id,
            )
        except DomainError as error:
            # Not a passing failure: retrying cannot help, so say so and go on.
            log.error("remediation of finding %s refused: %s", finding.finding_id, error.message)
            return f"refused: {error.message}"[:200]
        await self._append_once(task_id, event, finding.agency, finding.recorded_at, cause, "task")
        log.info("remediation task %s added to plan %s", task_id, plan_id)
        return "task added"

    async def _plan(
        self, plan_id: str, finding: FindingRecorded, cause: EventEnvelope
    ) -> model.Plan:
        history = await self.store.look_up(CONTEXT, plan_id)
        plan = PLAN.state(history)
        if plan is not None:
            return plan
        year = finding.inspected_on.year
        command = IssuePlan(agency=finding.agency, year=year, title=remediation_plan_title(year))
        event = model.issue_plan(None, plan_id, command, issued_at=finding.recorded_at)
        await self._append_once(plan_id, event, finding.agency, finding.recorded_at, cause, "plan")
        # Whoever won a race to issue it, the plan now exists: read the one that is stored.
        plan = PLAN.state(await self.store.load(CONTEXT, plan_id, consistent=True))
        assert plan is not None
        return plan

    async def _append_once(
        self, aggregate_id: str, event: PlanningEvent, agency: str, occurred_at: datetime,
        cause: EventEnvelope, step: str,
    ) -> None:
        meta = Metadata(
            actor=REMEDIATION_ACTOR,
            correlation_id=cause.correlation_id,
            causation_id=cause.event_id,
            event_id=aggregates.remediation_event_id(cause.payload["finding_id"], step),
        )
        empty = AggregateHistory(CONTEXT, aggregate_id)
        try:
            await self.store.append(empty, event, agency=agency, occurred_at=occurred_at, meta=meta)
        except ConcurrencyConflict:
            # Created meanwhile by someone else (an officer issuing the same plan): that will do.
            log.info("remediation: %s %s existed already", step, aggregate_id)

