"""Dossier statistics of a period (the report form), for one agency or every readable one,
judged by the report form's clock or by Decision 766's (``method=766``)."""

from datetime import date
from typing import Annotated, Literal

from cchc.contracts.answers import ANSWERS
from fastapi import APIRouter, Query

from cchc.contracts.dossier_commands import SERVICE, DossierStatsQuery
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.deps import GatewayDep, QueryCallDep, require_readable
from cchc.gateway.forwarding import ask_query
from cchc.gateway.problems import PROBLEM_RESPONSES, problem

router = APIRouter(prefix="/api/v1", tags=["dossier statistics"], responses=PROBLEM_RESPONSES)


@router.get("/dossier-stats", operation_id="get_dossier_stats",
             response_model=ANSWERS[("dossier", "dossier-stats")])
async def get_dossier_stats(
    gw: GatewayDep, call: QueryCallDep,
    start: Annotated[date, Query(alias="from", description="first day of the period")],
    to: Annotated[date, Query(description="last day; judged as of its end")],
    agency: Annotated[str | None, Query(pattern=TOKEN_PATTERN)] = None,
    method: Annotated[Literal["form", "766"], Query(description=(
        "form: the report form's clock (a supplementation restarts the statutory time); 766: "
        "Decision 766's (the supplementation period subtracted, more than one request late)"
    ))] = "form",
):
    require_readable(call.caller, agency)
    if start > to:
        raise problem(422, "from is after to", field="from")
    query = DossierStatsQuery(agency=agency, from_=start, to=to, method=method)
    return await ask_query(gw, call, SERVICE, "dossier-stats",
                           query.model_dump(mode="json", by_alias=True))
