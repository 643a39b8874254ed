"""Entrypoints: the planning service's endpoints, each a typed FastStream subscriber."""

from collections.abc import Callable
from typing import Any

from cchc.contracts.planning_commands import SERVICE
from cchc.planning.handlers import PlanningCommandHandlers
from cchc.planning.queries import PlanningQueries
from cchc.runtime.endpoints import ServiceRouter

__all__ = ["SERVICE", "endpoints"]


def endpoints(
    commands: PlanningCommandHandlers, queries: PlanningQueries, health: Callable[..., Any],
    max_workers: int,
) -> ServiceRouter:
    return ServiceRouter.of(SERVICE, {
        "issue-plan": commands.issue_plan,
        "add-task": commands.add_task,
        "report-progress": commands.report_progress,
        "complete-task": commands.complete_task,
        "cancel-task": commands.cancel_task,
        "reschedule-task": commands.reschedule_task,
        "open-inspection": commands.open_inspection,
        "record-finding": commands.record_finding,
        "list-plans": queries.list_plans,
        "get-plan": queries.get_plan,
        "plan-of": queries.plan_of,
        "plan-progress": queries.plan_progress,
        "list-tasks": queries.list_tasks,
        "get-task": queries.get_task,
        "get-inspection": queries.get_inspection,
        "health": health,
    }, max_workers)
