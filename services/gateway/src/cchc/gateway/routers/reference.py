"""Reference data: agencies, procedures (TTHC), calendar declarations."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from cchc.contracts.dossier_commands import DeclareCalendarDay, PublishProcedure, RegisterAgency
from cchc.gateway.deps import Caller, GatewayDep, ProvincialWriter, Writer, require_readable
from cchc.gateway.problems import problem
from cchc.gateway.service_calls import command, query

router = APIRouter(prefix="/api/v1", tags=["reference data"])
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post("/agencies", status_code=201, operation_id="register_agency")
async def register_agency(body: RegisterAgency, http: Request, gw: GatewayDep, caller: ProvincialWriter):
    return await command(gw, http, caller, "dossier", "register-agency", body.model_dump(mode="json"),
                         created=True)


@router.get("/agencies", operation_id="list_agencies")
async def list_agencies(http: Request, gw: GatewayDep, caller: Caller, limit: Limit = 50,
                        cursor: str | None = None):
    return await query(gw, http, caller, "dossier", "list-agencies", {"limit": limit, "cursor": cursor})


@router.post("/procedures", status_code=201, operation_id="publish_procedure")
async def publish_procedure(body: PublishProcedure, http: Request, gw: GatewayDep, caller: Writer):
    if not caller.may_write(body.agency):
        raise problem(403, "Forbidden", f"cannot publish procedures of {body.agency}", field="agency")
    return await command(gw, http, caller, "dossier", "publish-procedure",
                         body.model_dump(mode="json"), created=True)


@router.get("/procedures", operation_id="list_procedures")
async def list_procedures(http: Request, gw: GatewayDep, caller: Caller, agency: str | None = None,
                          limit: Limit = 50, cursor: str | None = None):
    require_readable(caller, agency)
    return await query(gw, http, caller, "dossier", "list-procedures",
                       {"agency": agency, "limit": limit, "cursor": cursor})


@router.post("/calendar/days", status_code=201, operation_id="declare_calendar_day")
async def declare_calendar_day(body: DeclareCalendarDay, http: Request, gw: GatewayDep,
                               caller: ProvincialWriter):
    return await command(gw, http, caller, "dossier", "declare-calendar-day",
                         body.model_dump(mode="json"), created=True)
