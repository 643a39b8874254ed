"""What the API shows of plans, tasks, inspections and findings.

Built from state (command answers) or from rows (queries); both paths give the same fields.
"""

from datetime import date, datetime
from typing import Any

from cchc.planning.aggregates import remediation_task_id
from cchc.planning.domain.model import Finding, Inspection, Plan, Task


def _json(value: Any) -> Any:
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return getattr(value, "value", value)  # enums travel as their value


def plan_summary(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.id, "agency": plan.agency, "year": plan.year, "title": plan.title,
        "issued_at": _json(plan.issued_at), "version": plan.version,
    }


def task_summary(task: Task) -> dict[str, Any]:
    return {
        "id": task.id, "plan_id": task.plan_id, "agency": task.agency, "year": task.year,
        "title": task.title, "area": _json(task.area), "due_date": _json(task.due_date),
        "owner": task.owner, "status": _json(task.status), "percent": task.percent,
        "added_at": _json(task.added_at), "completed_at": _json(task.completed_at),
        "on_time": task.on_time, "cancelled_at": _json(task.cancelled_at),
        "finding_id": task.finding_id, "version": task.version,
    }


def finding_summary(inspection: Inspection, finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id, "inspection_id": inspection.id, "agency": inspection.agency,
        "kind": _json(finding.kind), "text": finding.text,
        "remediation": finding.remediation.model_dump(mode="json") if finding.remediation else None,
        # The task the remediation process manager adds for it (derived: known in advance).
        "remediation_task_id": remediation_task_id(finding.id) if finding.remediation else None,
        "recorded_at": _json(finding.recorded_at),
    }


def inspection_summary(inspection: Inspection) -> dict[str, Any]:
    return {
        "id": inspection.id, "agency": inspection.agency,
        "inspected_on": _json(inspection.inspected_on), "team_lead": inspection.team_lead,
        "scope": inspection.scope, "findings": len(inspection.findings),
        "version": inspection.version,
    }


PLAN_ROW_FIELDS = ("id", "agency", "year", "title", "issued_at", "version")
TASK_ROW_FIELDS = (
    "id", "plan_id", "agency", "year", "title", "area", "due_date", "owner", "status", "percent",
    "added_at", "completed_at", "on_time", "cancelled_at", "finding_id", "version",
)
INSPECTION_ROW_FIELDS = ("id", "agency", "inspected_on", "team_lead", "scope", "version")
FINDING_ROW_FIELDS = (
    "id", "inspection_id", "agency", "kind", "text", "remediation", "remediation_task_id",
    "recorded_at",
)


def row_view(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    mapping = row._mapping
    return {name: _json(mapping[name]) for name in fields}
