"""Plans (kế hoạch CCHC): plans and their tasks, progress as of a date, inspections and findings.

The service scopes single plans, tasks and inspections to the caller's agency (only it knows
their agency); the gateway checks roles and any agency named in the body or the query.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated

from cchc.contracts.answers import ANSWERS
from fastapi import APIRouter, Path, Query

from cchc.contracts.planning_commands import (
    SERVICE,
    AddTask,
    CancelTask,
    CompleteTask,
    IssuePlan,
    OpenInspection,
    PlanListQuery,
    PlanProgressQuery,
    RecordFinding,
    ReportProgress,
    RescheduleTask,
)
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.command_table import CommandRoute, Who, add_command_routes
from cchc.gateway.deps import GatewayDep, QueryCallDep, require_readable
from cchc.gateway.forwarding import ask_query
from cchc.gateway.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["plans"], responses=PROBLEM_RESPONSES)

# Ids are subject tokens of the event log; anything else cannot name a plan, task or inspection.
PlanId = Annotated[str, Path(pattern=TOKEN_PATTERN, description="the plan's id")]
TaskId = Annotated[str, Path(pattern=TOKEN_PATTERN, description="the task's id")]
InspectionId = Annotated[str, Path(pattern=TOKEN_PATTERN, description="the inspection's id")]
Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
AgencyFilter = Annotated[str | None, Query(pattern=TOKEN_PATTERN, description="agency code")]


COMMANDS = [
    CommandRoute("/plans", IssuePlan, "issue-plan", "issue_plan", Who.AGENCY_IN_BODY,
                 status=201, created_under="/api/v1/plans"),
    CommandRoute("/plans/{plan_id}/tasks", AddTask, "add-task", "add_task", status=201,
                 created_under="/api/v1/tasks"),
    CommandRoute("/tasks/{task_id}/progress", ReportProgress, "report-progress",
                 "report_task_progress"),
    CommandRoute("/tasks/{task_id}/completion", CompleteTask, "complete-task", "complete_task"),
    CommandRoute("/tasks/{task_id}/cancellation", CancelTask, "cancel-task", "cancel_task"),
    CommandRoute("/tasks/{task_id}/reschedule", RescheduleTask, "reschedule-task",
                 "reschedule_task"),
    CommandRoute("/inspections", OpenInspection, "open-inspection", "open_inspection",
                 Who.PROVINCIAL, status=201, created_under="/api/v1/inspections"),
    # The ETag is the inspection's version; a finding has no address of its own.
    CommandRoute("/inspections/{inspection_id}/findings", RecordFinding, "record-finding",
                 "record_finding", Who.PROVINCIAL, status=201),
]
add_command_routes(router, SERVICE, COMMANDS)


class TaskStatus(StrEnum):
    """Checked here so a typo is a 422 rather than an empty list."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


@router.get("/plans", operation_id="list_plans",
             response_model=ANSWERS[("planning", "list-plans")])
async def list_plans(gw: GatewayDep, call: QueryCallDep, agency: AgencyFilter = None,
                     year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                     limit: Limit = 50, cursor: Cursor = None):
    require_readable(call.caller, agency)
    query = PlanListQuery(agency=agency, year=year, limit=limit, cursor=cursor)
    return await ask_query(gw, call, SERVICE, "list-plans", query.model_dump(mode="json"))


@router.get("/plans/{plan_id}", operation_id="get_plan",
             response_model=ANSWERS[("planning", "get-plan")])
async def get_plan(plan_id: PlanId, gw: GatewayDep, call: QueryCallDep):
    return await ask_query(gw, call, SERVICE, "get-plan", target=plan_id)


@router.get("/plans/{plan_id}/progress", operation_id="get_plan_progress",
             response_model=ANSWERS[("planning", "plan-progress")])
async def get_plan_progress(
    plan_id: PlanId, gw: GatewayDep, call: QueryCallDep,
    as_of: Annotated[date | None, Query(description="a day in Asia/Ho_Chi_Minh; default today")]
    = None,
):
    query = PlanProgressQuery(as_of=as_of)
    return await ask_query(gw, call, SERVICE, "plan-progress", query.model_dump(mode="json"),
                           target=plan_id)


@router.get("/tasks", operation_id="list_tasks",
             response_model=ANSWERS[("planning", "list-tasks")])
async def list_tasks(gw: GatewayDep, call: QueryCallDep,
                     plan_id: Annotated[str | None, Query(pattern=TOKEN_PATTERN)] = None,
                     agency: AgencyFilter = None, status: TaskStatus | None = None,
                     limit: Limit = 50, cursor: Cursor = None):
    require_readable(call.caller, agency)
    body = {"plan_id": plan_id, "agency": agency, "status": status and status.value,
            "limit": limit, "cursor": cursor}
    return await ask_query(gw, call, SERVICE, "list-tasks", body)


@router.get("/tasks/{task_id}", operation_id="get_task",
             response_model=ANSWERS[("planning", "get-task")])
async def get_task(task_id: TaskId, gw: GatewayDep, call: QueryCallDep):
    return await ask_query(gw, call, SERVICE, "get-task", target=task_id)


@router.get("/inspections/{inspection_id}", operation_id="get_inspection",
             response_model=ANSWERS[("planning", "get-inspection")])
async def get_inspection(inspection_id: InspectionId, gw: GatewayDep, call: QueryCallDep):
    return await ask_query(gw, call, SERVICE, "get-inspection", target=inspection_id)
