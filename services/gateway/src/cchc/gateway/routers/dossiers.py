"""Dossiers (hồ sơ TTHC): receipt, the commands of their life, lists, detail, statistics."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from cchc.contracts.dossier_commands import (
    ExtendDossier,
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    ReturnResult,
    SupplementDossier,
    WithdrawDossier,
)
from cchc.gateway.deps import Caller, GatewayDep, Writer, require_readable
from cchc.gateway.problems import problem
from cchc.gateway.service_calls import command, query

router = APIRouter(prefix="/api/v1", tags=["dossiers"])
SERVICE = "dossier"


@router.post("/dossiers", status_code=201, operation_id="receive_dossier")
async def receive_dossier(body: ReceiveDossier, http: Request, gw: GatewayDep, caller: Writer):
    return await command(gw, http, caller, SERVICE, "receive-dossier", body.model_dump(mode="json"),
                         created=True, location="/api/v1/dossiers")


@router.post("/dossiers/{dossier_id}/supplement-request", operation_id="request_supplement")
async def request_supplement(dossier_id: str, body: RequestSupplement, http: Request,
                             gw: GatewayDep, caller: Writer):
    return await command(gw, http, caller, SERVICE, "request-supplement",
                         body.model_dump(mode="json"), target=dossier_id)


@router.post("/dossiers/{dossier_id}/supplement", operation_id="supplement_dossier")
async def supplement_dossier(dossier_id: str, body: SupplementDossier, http: Request,
                             gw: GatewayDep, caller: Writer):
    return await command(gw, http, caller, SERVICE, "supplement-dossier",
                         body.model_dump(mode="json"), target=dossier_id)


@router.post("/dossiers/{dossier_id}/extension", operation_id="extend_dossier")
async def extend_dossier(dossier_id: str, body: ExtendDossier, http: Request, gw: GatewayDep,
                         caller: Writer):
    return await command(gw, http, caller, SERVICE, "extend-dossier", body.model_dump(mode="json"),
                         target=dossier_id)


@router.post("/dossiers/{dossier_id}/resolution", operation_id="resolve_dossier")
async def resolve_dossier(dossier_id: str, body: ResolveDossier, http: Request, gw: GatewayDep,
                          caller: Writer):
    return await command(gw, http, caller, SERVICE, "resolve-dossier", body.model_dump(mode="json"),
                         target=dossier_id)


@router.post("/dossiers/{dossier_id}/result-return", operation_id="return_result")
async def return_result(dossier_id: str, body: ReturnResult, http: Request, gw: GatewayDep,
                        caller: Writer):
    return await command(gw, http, caller, SERVICE, "return-result", body.model_dump(mode="json"),
                         target=dossier_id)


@router.post("/dossiers/{dossier_id}/withdrawal", operation_id="withdraw_dossier")
async def withdraw_dossier(dossier_id: str, body: WithdrawDossier, http: Request, gw: GatewayDep,
                           caller: Writer):
    return await command(gw, http, caller, SERVICE, "withdraw-dossier",
                         body.model_dump(mode="json"), target=dossier_id)


@router.get("/dossiers/{dossier_id}", operation_id="get_dossier")
async def get_dossier(dossier_id: str, http: Request, gw: GatewayDep, caller: Caller):
    return await query(gw, http, caller, SERVICE, "get-dossier", target=dossier_id)


@router.get("/dossiers", operation_id="list_dossiers")
async def list_dossiers(
    http: Request, gw: GatewayDep, caller: Caller, agency: str | None = None,
    status: str | None = None, received_from: date | None = None, received_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50, cursor: str | None = None,
):
    require_readable(caller, agency)
    body = {"agency": agency, "status": status, "limit": limit, "cursor": cursor,
            "received_from": received_from and received_from.isoformat(),
            "received_to": received_to and received_to.isoformat()}
    return await query(gw, http, caller, SERVICE, "list-dossiers", body)


@router.get("/dossier-stats", operation_id="get_dossier_stats")
async def get_dossier_stats(
    http: Request, gw: GatewayDep, caller: Caller,
    start: Annotated[date, Query(alias="from")], to: date, agency: str | None = None,
):
    require_readable(caller, agency)
    if start > to:
        raise problem(422, "Invalid input", "'from' is after 'to'", field="from")
    body = {"agency": agency, "from": start.isoformat(), "to": to.isoformat()}
    return await query(gw, http, caller, SERVICE, "dossier-stats", body)
