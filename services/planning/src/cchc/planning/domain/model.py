"""Plans, tasks and inspections: frozen state, decide (command -> event), evolve (event -> state).

Three aggregates, so that concurrency is as narrow as the facts: a plan (one per agency and year),
a task (each its own history: two officers reporting on two tasks never collide), an inspection
with its findings. Time comes in as data: the handler passes "now" where a command carries none.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum
from typing import TypeVar

from cchc.contracts.planning import (
    Area,
    FindingKind,
    FindingRecorded,
    InspectionOpened,
    PlanIssued,
    PlanningEvent,
    Remediation,
    TaskAdded,
    TaskCancelled,
    TaskCompleted,
    TaskProgressReported,
    TaskRescheduled,
)
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
from cchc.planning.domain.calendar import local_date, start_of_day
from cchc.planning.domain.errors import Conflict, InvalidCommand, NotFound

S = TypeVar("S")


class TaskStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Plan:
    id: str
    agency: str
    year: int
    title: str
    issued_at: datetime
    version: int


@dataclass(frozen=True)
class Task:
    id: str
    plan_id: str
    agency: str
    year: int
    title: str
    area: Area
    due_date: date
    owner: str
    added_at: datetime
    finding_id: str | None
    version: int
    status: TaskStatus = TaskStatus.IN_PROGRESS
    percent: int = 0
    completed_at: datetime | None = None
    on_time: bool | None = None
    cancelled_at: datetime | None = None


@dataclass(frozen=True)
class Finding:
    id: str
    kind: FindingKind
    text: str
    remediation: Remediation | None
    recorded_at: datetime


@dataclass(frozen=True)
class Inspection:
    id: str
    agency: str
    inspected_on: date
    team_lead: str
    scope: str
    version: int
    findings: tuple[Finding, ...] = ()


# --- plans ------------------------------------------------------------------------------------


def issue_plan(
    existing: Plan | None, plan_id: str, command: IssuePlan, issued_at: datetime
) -> PlanIssued:
    if existing is not None:
        raise Conflict(f"agency {command.agency} already has a plan for {command.year}")
    return PlanIssued(
        plan_id=plan_id, agency=command.agency, year=command.year, title=command.title,
        issued_at=issued_at,
    )


def evolve_plan(state: Plan | None, event: PlanningEvent) -> Plan | None:
    if isinstance(event, PlanIssued):
        return Plan(event.plan_id, event.agency, event.year, event.title, event.issued_at, 1)
    return replace(state, version=state.version + 1) if state else None


# --- tasks ------------------------------------------------------------------------------------


def add_task(
    plan: Plan | None, existing: Task | None, task_id: str, command: AddTask, added_at: datetime,
    finding_id: str | None = None,
) -> TaskAdded:
    if plan is None:
        raise NotFound("no such plan")
    if existing is not None:
        raise Conflict(f"task {task_id} already exists")
    return TaskAdded(
        task_id=task_id, plan_id=plan.id, agency=plan.agency, year=plan.year, title=command.title,
        area=command.area, due_date=command.due_date, owner=command.owner, added_at=added_at,
        finding_id=finding_id,
    )


def report_progress(task: Task, command: ReportProgress) -> TaskProgressReported:
    _ensure_open(task, "report progress on")
    _ensure_not_before_added(task, command.reported_at, "reported_at")
    _ensure_percent(command.percent)
    return TaskProgressReported(
        reported_at=command.reported_at, percent=command.percent, note=command.note
    )


def complete_task(task: Task, command: CompleteTask) -> TaskCompleted:
    _ensure_open(task, "complete")
    _ensure_not_before_added(task, command.completed_at, "completed_at")
    return TaskCompleted(
        completed_at=command.completed_at, due_date=task.due_date,
        on_time=is_on_time(command.completed_at, task.due_date), evidence=command.evidence,
    )


def cancel_task(task: Task, command: CancelTask) -> TaskCancelled:
    _ensure_open(task, "cancel")
    _ensure_not_before_added(task, command.cancelled_at, "cancelled_at")
    return TaskCancelled(cancelled_at=command.cancelled_at, reason=command.reason)


def reschedule_task(task: Task, command: RescheduleTask) -> TaskRescheduled:
    _ensure_open(task, "reschedule")
    _ensure_not_before_added(task, command.rescheduled_at, "rescheduled_at")
    return TaskRescheduled(
        rescheduled_at=command.rescheduled_at, new_due_date=command.new_due_date,
        reason=command.reason,
    )


def is_on_time(completed_at: datetime, due_date: date) -> bool:
    """Completed on or before the due date, comparing local calendar days."""
    return local_date(completed_at) <= due_date


def evolve_task(state: Task | None, event: PlanningEvent) -> Task | None:
    if isinstance(event, TaskAdded):
        return Task(
            id=event.task_id, plan_id=event.plan_id, agency=event.agency, year=event.year,
            title=event.title, area=event.area, due_date=event.due_date, owner=event.owner,
            added_at=event.added_at, finding_id=event.finding_id, version=1,
        )
    if state is None:
        return None
    state = replace(state, version=state.version + 1)
    if isinstance(event, TaskProgressReported):
        return replace(state, percent=event.percent)
    if isinstance(event, TaskCompleted):
        return replace(
            state, status=TaskStatus.COMPLETED, percent=100, completed_at=event.completed_at,
            on_time=event.on_time,
        )
    if isinstance(event, TaskCancelled):
        return replace(state, status=TaskStatus.CANCELLED, cancelled_at=event.cancelled_at)
    if isinstance(event, TaskRescheduled):
        return replace(state, due_date=event.new_due_date)
    return state


def _ensure_open(task: Task, action: str) -> None:
    if task.status is not TaskStatus.IN_PROGRESS:
        raise Conflict(f"cannot {action} a {task.status.value} task")


def _ensure_not_before_added(task: Task, moment: datetime, field: str) -> None:
    if moment < task.added_at:
        raise InvalidCommand(
            f"{field} {moment.isoformat()} is before the task was added "
            f"({task.added_at.isoformat()})", field,
        )


def _ensure_percent(percent: int) -> None:
    # The command schema already bounds it; the rule is the domain's, so it is checked here too.
    if not 0 <= percent <= 100:
        raise InvalidCommand("percent must be between 0 and 100", "percent")


# --- inspections ------------------------------------------------------------------------------


def open_inspection(
    existing: Inspection | None, inspection_id: str, command: OpenInspection
) -> InspectionOpened:
    if existing is not None:
        raise Conflict(f"inspection {inspection_id} already exists")
    return InspectionOpened(
        inspection_id=inspection_id, agency=command.agency, inspected_on=command.inspected_on,
        team_lead=command.team_lead, scope=command.scope,
    )


def record_finding(
    inspection: Inspection, finding_id: str, command: RecordFinding, recorded_at: datetime
) -> FindingRecorded:
    if any(f.id == finding_id for f in inspection.findings):
        raise Conflict(f"finding {finding_id} is already recorded")
    if command.remediation is not None and command.kind is not FindingKind.SHORTCOMING:
        raise InvalidCommand("only a shortcoming carries a remediation", "remediation")
    return FindingRecorded(
        finding_id=finding_id, inspection_id=inspection.id, agency=inspection.agency,
        inspected_on=inspection.inspected_on, kind=command.kind, text=command.text,
        remediation=command.remediation, recorded_at=recorded_at,
    )


def evolve_inspection(state: Inspection | None, event: PlanningEvent) -> Inspection | None:
    if isinstance(event, InspectionOpened):
        return Inspection(
            event.inspection_id, event.agency, event.inspected_on, event.team_lead, event.scope, 1
        )
    if state is None:
        return None
    if isinstance(event, FindingRecorded):
        finding = Finding(
            event.finding_id, event.kind, event.text, event.remediation, event.recorded_at
        )
        return replace(state, version=state.version + 1, findings=(*state.findings, finding))
    return replace(state, version=state.version + 1)


# --- shared -----------------------------------------------------------------------------------


def replay(
    evolve: Callable[[S | None, PlanningEvent], S | None], events: Iterable[PlanningEvent]
) -> S | None:
    state: S | None = None
    for event in events:
        state = evolve(state, event)
    return state


def business_time(event: PlanningEvent) -> datetime:
    """When the event happened in the world: the envelope's ``occurred_at``."""
    if isinstance(event, InspectionOpened):
        return start_of_day(event.inspected_on)
    for name in (
        "issued_at", "added_at", "reported_at", "completed_at", "cancelled_at", "rescheduled_at",
        "recorded_at",
    ):
        value = getattr(event, name, None)
        if value is not None:
            return value
    raise ValueError(f"{type(event).__name__} carries no business time")
