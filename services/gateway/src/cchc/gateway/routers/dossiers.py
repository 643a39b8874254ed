"""Dossiers (hồ sơ TTHC): receipt, the commands of their life, the list and the detail.

The service scopes single dossiers to the caller's agency (only it knows a dossier's agency);
the gateway checks roles and any agency named in the query.
"""

from datetime import date
from enum import StrEnum
from typing import Annotated

from cchc.contracts.answers import ANSWERS
from fastapi import APIRouter, Path, Query, Request, Response

from cchc.contracts.dossier_commands import (
    SERVICE,
    DossierListQuery,
    ExtendDossier,
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    ReturnResult,
    SupplementDossier,
    WithdrawDossier,
)
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.command_table import CommandRoute, add_command_routes
from cchc.gateway.deps import GatewayDep, QueryCallDep, require_readable
from cchc.gateway.forwarding import ask_query, ask_result
from cchc.gateway.problems import PROBLEM_RESPONSES, problem, problem_responses
from cchc.gateway.receipt_slip import lookup_address, render_receipt_slip

router = APIRouter(prefix="/api/v1", tags=["dossiers"], responses=PROBLEM_RESPONSES)

COMMANDS = [
    CommandRoute("/dossiers", ReceiveDossier, "receive-dossier", "receive_dossier", status=201,
                 created_under="/api/v1/dossiers"),
    CommandRoute("/dossiers/{dossier_id}/supplement-request", RequestSupplement,
                 "request-supplement", "request_supplement"),
    CommandRoute("/dossiers/{dossier_id}/supplement", SupplementDossier, "supplement-dossier",
                 "supplement_dossier"),
    CommandRoute("/dossiers/{dossier_id}/extension", ExtendDossier, "extend-dossier",
                 "extend_dossier"),
    CommandRoute("/dossiers/{dossier_id}/resolution", ResolveDossier, "resolve-dossier",
                 "resolve_dossier"),
    CommandRoute("/dossiers/{dossier_id}/result-return", ReturnResult, "return-result",
                 "return_result"),
    CommandRoute("/dossiers/{dossier_id}/withdrawal", WithdrawDossier, "withdraw-dossier",
                 "withdraw_dossier"),
]
add_command_routes(router, SERVICE, COMMANDS)

# A dossier id is a subject token of the event log; anything else cannot name a dossier.
DossierId = Annotated[str, Path(pattern=TOKEN_PATTERN, description="the dossier's id")]


class DossierStatus(StrEnum):
    """The statuses of API.md, checked here so a typo is a 422 rather than an empty list."""

    IN_PROGRESS = "in_progress"
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    RESOLVED = "resolved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


@router.get("/dossiers/{dossier_id}", operation_id="get_dossier",
             response_model=ANSWERS[("dossier", "get-dossier")],
            responses=problem_responses(404))
async def get_dossier(dossier_id: DossierId, gw: GatewayDep, call: QueryCallDep):
    return await ask_query(gw, call, SERVICE, "get-dossier", target=dossier_id)


@router.get("/dossiers", operation_id="list_dossiers",
             response_model=ANSWERS[("dossier", "list-dossiers")])
async def list_dossiers(
    gw: GatewayDep, call: QueryCallDep,
    agency: Annotated[str | None, Query(pattern=TOKEN_PATTERN)] = None,
    status: DossierStatus | None = None,
    received_from: Annotated[date | None, Query(description="first day of receipt")] = None,
    received_to: Annotated[date | None, Query(description="last day of receipt")] = None,
    q: Annotated[str | None, Query(max_length=100, description=(
        "text in the id, the receipt code, the procedure code or the applicant's details, accents and case "
        "ignored; a page may hold fewer than `limit` items and still have a next_cursor"))] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
):
    require_readable(call.caller, agency)
    if received_from and received_to and received_from > received_to:
        raise problem(422, "received_from is after received_to", field="received_from")
    query = DossierListQuery(agency=agency, status=status, received_from=received_from,
                             received_to=received_to, q=q, limit=limit, cursor=cursor)
    return await ask_query(gw, call, SERVICE, "list-dossiers", query.model_dump(mode="json"))


PDF_RESPONSE = {200: {"content": {"application/pdf": {}},
                      "description": "the receipt slip (giấy tiếp nhận hồ sơ và hẹn trả kết quả)"}}


@router.get("/dossiers/{dossier_id}/receipt", operation_id="get_receipt_slip",
            response_class=Response, responses={**PDF_RESPONSE, **problem_responses(404)})
async def get_receipt_slip(dossier_id: DossierId, gw: GatewayDep, call: QueryCallDep,
                           request: Request) -> Response:
    """The citizen's receipt slip as a PDF: agency, procedure, applicant, time of receipt, the
    appointment for the result, the receipt code and a QR code of the public lookup address."""
    slip = await ask_result(gw, call, SERVICE, "receipt-slip", target=dossier_id,
                            min_position=call.position_in(SERVICE))
    base = gw.settings.public_url or str(request.base_url)
    code = slip.get("receipt_code") or slip["id"]
    pdf = render_receipt_slip(slip, lookup_address(base, code))
    return Response(pdf, media_type="application/pdf", headers={
        "Content-Disposition": f'inline; filename="giay-tiep-nhan-{code}.pdf"'})
