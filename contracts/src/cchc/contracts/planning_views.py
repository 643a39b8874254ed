"""What the planning service answers: plans, tasks, their progress, inspections and findings.

Times are ISO 8601 strings with an offset, dates ISO calendar dates in Asia/Ho_Chi_Minh, both as
the service emits them. See ``cchc.contracts.pages`` for the rules.
"""

from pydantic import Field

from cchc.contracts.pages import Answer, Page

TIME = "ISO 8601 time with an offset"
DATE = "ISO 8601 date (YYYY-MM-DD), Asia/Ho_Chi_Minh"

# --- plans and tasks --------------------------------------------------------------------------


class PlanSummary(Answer):
    """``issue-plan``, and an item of ``list-plans``."""

    id: str = Field(description="plan id")
    agency: str = Field(description="agency code")
    year: int = Field(description="the plan's year")
    title: str = Field(description="the plan's title")
    issued_at: str = Field(description=f"when it was issued; {TIME}")
    version: int = Field(description="the plan's version (its ETag)")


class TaskSummary(Answer):
    """Every task command's answer, ``get-task``, and an item of ``list-tasks``."""

    id: str = Field(description="task id")
    plan_id: str = Field(description="the plan it belongs to")
    agency: str = Field(description="agency code")
    year: int = Field(description="the plan's year")
    title: str = Field(description="the task's title")
    area: str = Field(description="reform area, e.g. direction, digital_government")
    due_date: str = Field(description=f"the due date in force; {DATE}")
    owner: str = Field(description="who carries it out")
    status: str = Field(description="open, completed or cancelled")
    percent: int = Field(description="last reported progress, 0-100")
    added_at: str = Field(description=f"when it was added; {TIME}")
    completed_at: str | None = Field(description=f"completion time; {TIME}")
    on_time: bool | None = Field(description="completed by its due date; None while not completed")
    cancelled_at: str | None = Field(description=f"cancellation time; {TIME}")
    finding_id: str | None = Field(description="the inspection finding it remedies, if any")
    version: int = Field(description="the task's version (its ETag)")


class PlanDetail(PlanSummary):
    """``get-plan``: the plan and its tasks."""

    tasks: list[TaskSummary] = Field(description="the plan's tasks by due date")


class AreaProgress(Answer):
    total: int = Field(description="tasks of the area")
    completed: int = Field(description="completed by as_of")
    cancelled: int = Field(description="cancelled by as_of")


class PlanProgress(Answer):
    """``plan-progress``: the plan's figures as of a date; they partition ``total``."""

    plan_id: str = Field(description="plan id")
    agency: str = Field(description="agency code")
    year: int = Field(description="the plan's year")
    as_of: str = Field(description=f"the day judged (its end); {DATE}")
    total: int = Field(description="tasks that existed by as_of")
    completed: int = Field(description="completed by as_of")
    completed_on_time: int = Field(description="of which by their due date")
    completed_late: int = Field(description="of which after their due date")
    in_progress: int = Field(description="open and not past due")
    overdue: int = Field(description="open and past due")
    cancelled: int = Field(description="cancelled by as_of")
    completion_rate: float | None = Field(
        description="completed / (total - cancelled), 4 decimals; None when nothing is left"
    )
    by_area: dict[str, AreaProgress] = Field(description="per reform area (every area listed)")


class AgencyPlanProgress(PlanProgress):
    """``plan-of``: the progress of an agency's plan of a year; zeros when it has none."""

    plan_id: str | None = Field(description="plan id; None when the agency has no plan that year")


PlanPage = Page[PlanSummary]
TaskPage = Page[TaskSummary]

# --- inspections ------------------------------------------------------------------------------


class RemediationView(Answer):
    title: str = Field(description="the remedial task's title")
    area: str = Field(description="its reform area")
    due_date: str = Field(description=f"its due date; {DATE}")


class FindingView(Answer):
    """A finding, as ``get-inspection`` lists it."""

    id: str = Field(description="finding id")
    inspection_id: str = Field(description="the inspection")
    agency: str = Field(description="agency code")
    kind: str = Field(description="achievement or shortcoming")
    text: str = Field(description="what was found")
    remediation: RemediationView | None = Field(description="a shortcoming's remedial task")
    remediation_task_id: str | None = Field(
        description="id of the task the remediation adds to the plan (known in advance)"
    )
    recorded_at: str = Field(description=f"when it was recorded; {TIME}")


class RecordedFinding(FindingView):
    """``record-finding``: the finding and the inspection's version after it."""

    inspection_version: int = Field(description="the inspection's version (its ETag)")


class InspectionSummary(Answer):
    """``open-inspection``."""

    id: str = Field(description="inspection id")
    agency: str = Field(description="agency code")
    inspected_on: str = Field(description=f"day of the inspection; {DATE}")
    team_lead: str = Field(description="the team's lead")
    scope: str = Field(description="what was inspected")
    findings: int = Field(description="number of findings recorded")
    version: int = Field(description="the inspection's version (its ETag)")


class InspectionDetail(Answer):
    """``get-inspection``: the inspection and its findings."""

    id: str = Field(description="inspection id")
    agency: str = Field(description="agency code")
    inspected_on: str = Field(description=f"day of the inspection; {DATE}")
    team_lead: str = Field(description="the team's lead")
    scope: str = Field(description="what was inspected")
    version: int = Field(description="the inspection's version (its ETag)")
    findings: list[FindingView] = Field(description="its findings in the order recorded")

