"""Aggregate ids of the planning context.

A plan's id follows from its agency and year, so a second plan for the same agency-year meets the
first one's history (409) instead of creating a twin. Ids created under an idempotency key are
derived from it, so a retried command finds the aggregate its first attempt created.
"""

from cchc.runtime.ids import derived_id

CONTEXT = "planning"

# Who the remediation process manager's events are attributed to.
REMEDIATION_ACTOR = "process:planning-remediation"


def plan_id(agency: str, year: int) -> str:
    return derived_id("plan", agency, str(year))


def task_id(idempotency_key: str | None) -> str | None:
    return derived_id("task", idempotency_key) if idempotency_key else None


def inspection_id(idempotency_key: str | None) -> str | None:
    return derived_id("inspection", idempotency_key) if idempotency_key else None


def finding_id(idempotency_key: str | None) -> str | None:
    return derived_id("finding", idempotency_key) if idempotency_key else None


def remediation_task_id(finding: str) -> str:
    """The task that remedies a shortcoming: one per finding, however often the finding is seen."""
    return derived_id("remediation-task", finding)


def remediation_event_id(finding: str, step: str) -> str:
    return derived_id("remediation-event", finding, step)
