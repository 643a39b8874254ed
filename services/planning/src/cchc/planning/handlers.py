"""Command handlers of the planning context: what differs per command, on the shared loop.

Each handler names the aggregate, who may, and the decision; ``CommandLoop`` does the rest. A
command under an idempotency key gets derived ids for what it creates (a task, an inspection, a
finding), so a retry finds what its first delivery created instead of creating a twin.
"""

from datetime import UTC, datetime
from typing import Any

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.messages import Principal, Reply, Request
from cchc.contracts.planning_commands import (
    AddTask,
    CancelTask,
    CompleteTask,
    IssuePlan,
    OpenInspection,
    RecordFinding,
    ReportProgress,
    RescheduleTask,
)
from cchc.contracts.subjects import is_token
from cchc.planning import aggregates
from cchc.planning.aggregates import CONTEXT
from cchc.planning.domain import model
from cchc.planning.domain.errors import Forbidden, NotFound
from cchc.planning.views import finding_summary, inspection_summary, plan_summary, task_summary
from cchc.runtime.command_loop import AggregateKind, CommandLoop
from cchc.runtime.entry_window import EntryWindow
from cchc.runtime.eventstore import EventStore
from cchc.runtime.ids import new_id


def _inspection_answer(inspection: model.Inspection, envelope: EventEnvelope) -> dict[str, Any]:
    if envelope.type == "FindingRecorded":
        finding_id = envelope.payload["finding_id"]
        finding = next(f for f in inspection.findings if f.id == finding_id)
        return {**finding_summary(inspection, finding), "inspection_version": inspection.version}
    return inspection_summary(inspection)


def _agency_of(state: Any, event: Any) -> str:
    return state.agency if state is not None else event.agency


PLAN = AggregateKind[model.Plan]("plan", model.evolve_plan, lambda plan, _: plan_summary(plan),
                                 model.business_time, _agency_of)
TASK = AggregateKind[model.Task]("task", model.evolve_task, lambda task, _: task_summary(task),
                                 model.business_time, _agency_of)
INSPECTION = AggregateKind[model.Inspection]("inspection", model.evolve_inspection,
                                             _inspection_answer, model.business_time, _agency_of)


def may_write(principal: Principal, agency: str) -> None:
    if not principal.may_write(agency):
        raise Forbidden(f"cannot write the plans of agency {agency}")


def may_write_state(principal: Principal, state: Any) -> None:
    may_write(principal, state.agency)


def may_inspect(principal: Principal, _: Any = None) -> None:
    # Inspections are the Department of Home Affairs' work; the inspector role only reads.
    if not principal.writes_everywhere:
        raise Forbidden("only home_affairs and admin open inspections and record findings")


class PlanningCommandHandlers:
    def __init__(
        self, store: EventStore, entry_window: EntryWindow | None = None
    ) -> None:
        self.store = store
        self.loop = CommandLoop(store, CONTEXT, entry_window)

    # --- plans and tasks --------------------------------------------------------------------

    async def issue_plan(self, request: Request[IssuePlan]) -> Reply[dict[str, Any]]:
        """Issue an agency's annual CCHC plan (one per agency and year)."""
        command = request.body
        may_write(request.meta.principal, command.agency)
        plan_id = aggregates.plan_id(command.agency, command.year)
        issued_at = command.issued_at or _now()
        return await self.loop.create(
            request, PLAN, plan_id,
            lambda plan: model.issue_plan(plan, plan_id, command, issued_at),
        )

    async def add_task(self, request: Request[AddTask]) -> Reply[dict[str, Any]]:
        """Add a task to a plan."""
        command = request.body
        plan_id = _existing_id(request.target, "plan")
        plan = PLAN.state(await self.store.look_up(CONTEXT, plan_id))
        if plan is None:
            raise NotFound(f"no plan {plan_id}")
        may_write(request.meta.principal, plan.agency)
        task_id = aggregates.task_id(request.meta.idempotency_key) or new_id()
        added_at = command.added_at or _now()
        return await self.loop.create(
            request, TASK, task_id,
            lambda task: model.add_task(plan, task, task_id, command, added_at),
        )

    async def report_progress(self, request: Request[ReportProgress]) -> Reply[dict[str, Any]]:
        """Report a task's progress (percent done)."""
        return await self._on_task(request, lambda task: model.report_progress(task, request.body))

    async def complete_task(self, request: Request[CompleteTask]) -> Reply[dict[str, Any]]:
        """Complete a task."""
        return await self._on_task(request, lambda task: model.complete_task(task, request.body))

    async def cancel_task(self, request: Request[CancelTask]) -> Reply[dict[str, Any]]:
        """Cancel a task, with the reason."""
        return await self._on_task(request, lambda task: model.cancel_task(task, request.body))

    async def reschedule_task(self, request: Request[RescheduleTask]) -> Reply[dict[str, Any]]:
        """Move a task's due date."""
        return await self._on_task(request, lambda task: model.reschedule_task(task, request.body))

    async def _on_task(self, request: Request[Any], decide: Any) -> Reply[dict[str, Any]]:
        return await self.loop.change(request, TASK, request.target, decide, may_write_state)

    # --- inspections ------------------------------------------------------------------------

    async def open_inspection(self, request: Request[OpenInspection]) -> Reply[dict[str, Any]]:
        """Open an inspection of an agency (home_affairs, admin)."""
        command = request.body
        may_inspect(request.meta.principal)
        inspection_id = aggregates.inspection_id(request.meta.idempotency_key) or new_id()
        return await self.loop.create(
            request, INSPECTION, inspection_id,
            lambda inspection: model.open_inspection(inspection, inspection_id, command),
        )

    async def record_finding(self, request: Request[RecordFinding]) -> Reply[dict[str, Any]]:
        """Record an inspection's finding; a shortcoming with a remediation becomes a task."""
        finding_id = aggregates.finding_id(request.meta.idempotency_key) or new_id()
        recorded_at = _now()
        return await self.loop.change(
            request, INSPECTION, request.target,
            lambda inspection: model.record_finding(inspection, finding_id, request.body,
                                                    recorded_at),
            may_inspect,
        )


def _existing_id(target: str | None, name: str) -> str:
    # A target is one subject token; anything else ("*", "a.b") would widen the history filter.
    if not target or not is_token(target):
        raise NotFound(f"no {name} {target or ''}".rstrip())
    return target


def _now() -> datetime:
    return datetime.now(UTC)
