"""Entrypoints: NATS request/reply endpoints translated into command and query handler calls."""

from collections.abc import Awaitable, Callable

from cchc.contracts.messages import Reply, Request
from cchc.contracts.planning_commands import SERVICE
from cchc.planning.domain.errors import DomainError
from cchc.planning.handlers import PlanningCommandHandlers
from cchc.planning.queries import PlanningQueries
from cchc.runtime.rpc import Handler, ProblemError

__all__ = ["SERVICE", "endpoints"]


def translating_domain_errors(handler: Callable[[Request], Awaitable[Reply]]) -> Handler:
    async def handle(request: Request) -> Reply:
        try:
            return await handler(request)
        except DomainError as error:
            raise ProblemError(error.status, error.title, error.message, error.field) from error

    return handle


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
    return {name: translating_domain_errors(handler) for name, handler in table.items()}
