"""The public lookup, reachable without a token: a dossier by its receipt code, the board of
each agency's on-time rate for the year (like the national portal's transparency page), and the
page ``/tra-cuu`` that shows both. Every request counts against the client's rate limit.

Nothing else of the API answers without a token. The services answer these two queries with
public fields only (the applicant's name masked), asked as the gateway itself.
"""

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import uuid4

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from cchc.contracts.answers import ANSWERS
from cchc.contracts.dossier_commands import SERVICE
from cchc.contracts.localtime import local_date
from cchc.contracts.messages import CommandMeta, Principal, Request as ServiceRequest, Role
from cchc.gateway.deps import GatewayDep
from cchc.gateway.problems import PROBLEM_RESPONSES, ProblemException, from_service, problem
from cchc.gateway.routers.dashboard import page_file
from cchc.runtime.endpoints import ServiceUnavailable

# The public asks as the gateway: the two endpoints answer public fields only, whoever asks.
PUBLIC = Principal(sub="cchc-public-lookup", role=Role.INSPECTOR)
RECEIPT_CODE = r"^[A-Za-z0-9_-]+-\d{6}-\d{4,}$"


def limited(request: Request) -> None:
    client = request.client.host if request.client else "unknown"
    request.app.state.gateway.public_rate.check(client)


router = APIRouter(tags=["public"], responses=PROBLEM_RESPONSES, dependencies=[Depends(limited)])


async def _ask(gw: Any, endpoint: str, body: dict[str, Any] | None = None,
               target: str | None = None) -> dict[str, Any]:
    meta = CommandMeta(principal=PUBLIC, correlation_id=str(uuid4()))
    try:
        reply = await gw.services.call(SERVICE, endpoint, ServiceRequest(
            meta=meta, body=body or {}, target=target))
    except ServiceUnavailable:
        raise problem(503, "the lookup is unavailable; try again",
                      headers={"Retry-After": "2"}) from None
    if not reply.ok or reply.result is None:
        raise ProblemException(from_service(reply.problem))
    return reply.result


@router.get("/api/v1/public/dossiers/{receipt_code}", operation_id="public_dossier",
            response_model=ANSWERS[(SERVICE, "public-dossier")])
async def public_dossier(
    gw: GatewayDep,
    receipt_code: Annotated[str, Path(pattern=RECEIPT_CODE, max_length=100,
                                      description="the code on the receipt slip")],
):
    """A dossier's status, due date, appointment and result-return state, by its receipt code;
    the applicant's name masked. No token; rate-limited per client."""
    return await _ask(gw, "public-dossier", target=receipt_code)


@router.get("/api/v1/public/on-time-rates", operation_id="public_on_time_rates",
            response_model=ANSWERS[(SERVICE, "public-board")])
async def public_on_time_rates(
    gw: GatewayDep,
    year: Annotated[int | None, Query(ge=2000, le=2100, description="default: this year")] = None,
):
    """Each agency's dossiers of the year up to today and its on-time rate. No token."""
    return await _ask(gw, "public-board", {"year": year or local_date(datetime.now(UTC)).year})


@router.get("/tra-cuu", include_in_schema=False)
async def lookup_page(request: Request) -> Response:
    return page_file("tra-cuu.html", request)
