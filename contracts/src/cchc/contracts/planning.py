"""Events of the planning context: agencies' annual CCHC plans, their tasks, inspections.

Stream ``PLANNING`` on ``cchc.planning.>``. Aggregates: a plan (one per agency and year), a task,
an inspection. Dates are calendar dates in Asia/Ho_Chi_Minh.
"""

from datetime import date
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cchc.contracts.events import Event

CONTEXT = "planning"


class Area(StrEnum):
    """The seven reform areas of a plan's tasks."""

    DIRECTION = "direction"  # chỉ đạo, điều hành
    INSTITUTIONS = "institutions"  # cải cách thể chế
    PROCEDURES = "procedures"  # cải cách thủ tục hành chính
    APPARATUS = "apparatus"  # cải cách tổ chức bộ máy
    CIVIL_SERVICE = "civil_service"  # cải cách chế độ công vụ
    PUBLIC_FINANCE = "public_finance"  # cải cách tài chính công
    DIGITAL_GOVERNMENT = "digital_government"  # chính quyền điện tử, chính quyền số


class FindingKind(StrEnum):
    ACHIEVEMENT = "achievement"
    SHORTCOMING = "shortcoming"


class Remediation(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: str = Field(min_length=1, max_length=500)
    area: Area
    due_date: date


class PlanningEvent(Event, abstract=True):
    context = CONTEXT


class PlanIssued(PlanningEvent):
    plan_id: str
    agency: str
    year: int
    title: str
    issued_at: AwareDatetime


class TaskAdded(PlanningEvent):
    task_id: str
    plan_id: str
    agency: str
    year: int
    title: str
    area: Area
    due_date: date
    owner: str
    added_at: AwareDatetime
    finding_id: str | None = None  # set when the task remedies an inspection's shortcoming


class TaskProgressReported(PlanningEvent):
    reported_at: AwareDatetime
    percent: int = Field(ge=0, le=100)
    note: str


class TaskCompleted(PlanningEvent):
    completed_at: AwareDatetime
    due_date: date
    on_time: bool
    evidence: list[str]


class TaskCancelled(PlanningEvent):
    cancelled_at: AwareDatetime
    reason: str


class TaskRescheduled(PlanningEvent):
    rescheduled_at: AwareDatetime
    new_due_date: date
    reason: str


class InspectionOpened(PlanningEvent):
    inspection_id: str
    agency: str
    inspected_on: date
    team_lead: str
    scope: str


class FindingRecorded(PlanningEvent):
    finding_id: str
    inspection_id: str
    agency: str
    inspected_on: date
    kind: FindingKind
    text: str
    remediation: Remediation | None = None
    recorded_at: AwareDatetime
