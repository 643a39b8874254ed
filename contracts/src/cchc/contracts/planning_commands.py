"""Commands and queries of the planning context: the bodies of the public API's requests.

Endpoint names are the last token of ``svc.planning.<name>``.
"""

from datetime import date

from pydantic import BaseModel, Field, field_validator

from cchc.contracts.commands import Command
from cchc.contracts.late_entry import MayBeEnteredLate
from cchc.contracts.localtime import BusinessTime
from cchc.contracts.planning import Area, FindingKind, Remediation
from cchc.contracts.subjects import TOKEN_PATTERN

SERVICE = "planning"


class IssuePlan(Command, MayBeEnteredLate):
    agency: str = Field(pattern=TOKEN_PATTERN)
    year: int = Field(ge=2000, le=2100)
    title: str = Field(min_length=1, max_length=500)
    issued_at: BusinessTime | None = Field(
        default=None, description="when the plan was issued (default: now); for entering past years"
    )


class AddTask(Command, MayBeEnteredLate):
    title: str = Field(min_length=1, max_length=500)
    area: Area
    due_date: date
    owner: str = Field(min_length=1, max_length=200)
    added_at: BusinessTime | None = Field(
        default=None, description="when the task entered the plan (default: now)"
    )


class ReportProgress(Command, MayBeEnteredLate):
    reported_at: BusinessTime
    percent: int = Field(ge=0, le=100)
    note: str = Field(default="", max_length=2000)


class CompleteTask(Command, MayBeEnteredLate):
    completed_at: BusinessTime
    evidence: list[str] = Field(default_factory=list, description="documents or links")

    @field_validator("evidence", mode="before")
    @classmethod
    def one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class CancelTask(Command, MayBeEnteredLate):
    cancelled_at: BusinessTime
    reason: str = Field(min_length=1, max_length=2000)


class RescheduleTask(Command, MayBeEnteredLate):
    rescheduled_at: BusinessTime
    new_due_date: date
    reason: str = Field(min_length=1, max_length=2000)


class OpenInspection(Command):
    agency: str = Field(pattern=TOKEN_PATTERN)
    inspected_on: date
    team_lead: str = Field(min_length=1, max_length=200)
    scope: str = Field(min_length=1, max_length=2000)


class RecordFinding(Command):
    kind: FindingKind
    text: str = Field(min_length=1, max_length=5000)
    remediation: Remediation | None = None


class PlanListQuery(BaseModel):
    agency: str | None = None
    year: int | None = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None


class TaskListQuery(BaseModel):
    """The tasks of one plan, or of one agency across its plans."""

    plan_id: str | None = None
    agency: str | None = None
    status: str | None = None
    limit: int = Field(default=50, ge=1, le=500)
    cursor: str | None = None


class PlanOfQuery(BaseModel):
    """The progress of an agency's plan of a year as of a date (its report's plan table)."""

    agency: str
    year: int
    as_of: date | None = None


class PlanProgressQuery(BaseModel):
    as_of: date | None = None
