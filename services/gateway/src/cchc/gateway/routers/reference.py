"""Reference data: agencies, procedures (TTHC) and calendar declarations."""

from typing import Annotated

from cchc.contracts.answers import ANSWERS
from fastapi import APIRouter, Query

from cchc.contracts.dossier_commands import (
    SERVICE,
    DeclareCalendarDay,
    PublishProcedure,
    RegisterAgency,
)
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.command_table import CommandRoute, Who, add_command_routes
from cchc.gateway.deps import GatewayDep, QueryCallDep, require_readable
from cchc.gateway.forwarding import ask_query
from cchc.gateway.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["reference data"], responses=PROBLEM_RESPONSES)

Limit = Annotated[int, Query(ge=1, le=500, description="page size")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page")]
AgencyFilter = Annotated[str | None, Query(pattern=TOKEN_PATTERN, description="agency code")]

COMMANDS = [
    CommandRoute("/agencies", RegisterAgency, "register-agency", "register_agency",
                 Who.PROVINCIAL, status=201),
    CommandRoute("/procedures", PublishProcedure, "publish-procedure", "publish_procedure",
                 Who.AGENCY_IN_BODY, status=201),
    CommandRoute("/calendar/days", DeclareCalendarDay, "declare-calendar-day",
                 "declare_calendar_day", Who.PROVINCIAL, status=201),
]
add_command_routes(router, SERVICE, COMMANDS)


@router.get("/agencies", operation_id="list_agencies",
             response_model=ANSWERS[("dossier", "list-agencies")])
async def list_agencies(gw: GatewayDep, call: QueryCallDep, limit: Limit = 50,
                        cursor: Cursor = None):
    return await ask_query(gw, call, SERVICE, "list-agencies", {"limit": limit, "cursor": cursor})


@router.get("/procedures", operation_id="list_procedures",
             response_model=ANSWERS[("dossier", "list-procedures")])
async def list_procedures(gw: GatewayDep, call: QueryCallDep, agency: AgencyFilter = None,
                          limit: Limit = 50, cursor: Cursor = None):
    require_readable(call.caller, agency)
    return await ask_query(gw, call, SERVICE, "list-procedures",
                           {"agency": agency, "limit": limit, "cursor": cursor})


