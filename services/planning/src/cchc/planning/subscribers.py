"""Entrypoints: NATS request/reply endpoints translated into command and query handler calls."""

from collections.abc import Awaitable, Callable

from cchc.contracts.messages import Reply, Request
from cchc.contracts.planning_commands import SERVICE
from cchc.planning.handlers import PlanningCommandHandlers
from cchc.planning.queries import PlanningQueries
from cchc.runtime.rpc import Handler

__all__ = ["SERVICE", "endpoints"]


def endpoints(
    commands: PlanningCommandHandlers, queries: PlanningQueries, health: Handler
) -> dict[str, Handler]:
    table: dict[str, Callable[[Request], Awaitable[Reply]]] = {
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
        "plan-progress": queries.plan_progress,
        "list-tasks": queries.list_tasks,
        "get-task": queries.get_task,
        "get-inspection": queries.get_inspection,
        "health": health,
    }
    return table
