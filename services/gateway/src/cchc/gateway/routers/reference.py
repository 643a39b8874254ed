"""Reference data: agencies, procedures (TTHC) and calendar declarations."""

from typing import Annotated

from cchc.contracts.answers import ANSWERS
from fastapi import APIRouter, Depends, Query

from cchc.contracts.dossier_commands import (
    SERVICE,
    DeclareCalendarDay,
    PublishProcedure,
    RegisterAgency,
)
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.deps import (
    CommandCallDep,
    GatewayDep,
    QueryCallDep,
    provincial_writer,
    require_readable,
    require_writable,
)
from cchc.gateway.forwarding import ask_query, send_command
from cchc.gateway.problems import COMMAND_PROBLEM_RESPONSES, PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["reference data"], responses=PROBLEM_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
AgencyFilter = Annotated[str | None, Query(pattern=TOKEN_PATTERN, description="agency code")]


@router.post("/agencies", status_code=201, operation_id="register_agency",
             response_model=ANSWERS[("dossier", "register-agency")],
             dependencies=[Depends(provincial_writer)], responses=COMMAND_PROBLEM_RESPONSES)
async def register_agency(body: RegisterAgency, gw: GatewayDep, call: CommandCallDep):
    return await send_command(gw, call, SERVICE, "register-agency", body, success_status=201)


@router.get("/agencies", operation_id="list_agencies",
             response_model=ANSWERS[("dossier", "list-agencies")])
async def list_agencies(gw: GatewayDep, call: QueryCallDep, limit: Limit = 50,
                        cursor: Cursor = None):
    return await ask_query(gw, call, SERVICE, "list-agencies", {"limit": limit, "cursor": cursor})


@router.post("/procedures", status_code=201, operation_id="publish_procedure",
             response_model=ANSWERS[("dossier", "publish-procedure")],
             responses=COMMAND_PROBLEM_RESPONSES)
async def publish_procedure(body: PublishProcedure, gw: GatewayDep, call: CommandCallDep):
    require_writable(call.caller, body.agency)
    return await send_command(gw, call, SERVICE, "publish-procedure", body, success_status=201)


@router.get("/procedures", operation_id="list_procedures",
             response_model=ANSWERS[("dossier", "list-procedures")])
async def list_procedures(gw: GatewayDep, call: QueryCallDep, agency: AgencyFilter = None,
                          limit: Limit = 50, cursor: Cursor = None):
    require_readable(call.caller, agency)
    return await ask_query(gw, call, SERVICE, "list-procedures",
                           {"agency": agency, "limit": limit, "cursor": cursor})


@router.post("/calendar/days", status_code=201, operation_id="declare_calendar_day",
             response_model=ANSWERS[("dossier", "declare-calendar-day")],
             dependencies=[Depends(provincial_writer)], responses=COMMAND_PROBLEM_RESPONSES)
async def declare_calendar_day(body: DeclareCalendarDay, gw: GatewayDep, call: CommandCallDep):
    return await send_command(gw, call, SERVICE, "declare-calendar-day", body, success_status=201)
