"""Dossier statistics of a period (the report form), for one agency or every readable one,
judged by the report form's clock or by Decision 766's (``method=766``).

``by=field`` (with an agency) adds ``by_field``: the agency's figures per field of procedures.
With ``Accept: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet`` the answer
is the II.06a form as a workbook: a row per agency, or per field for one agency. Both follow the
report form's clock.
"""

from datetime import date
from typing import Annotated, Literal

from cchc.contracts.answers import ANSWERS
from fastapi import APIRouter, Header, Query

from cchc.contracts.dossier_commands import SERVICE, DossierStatsQuery
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.agency_names import agency_names
from cchc.gateway.deps import GatewayDep, QueryCallDep, require_readable
from cchc.gateway.forwarding import ask_query, ask_result
from cchc.gateway.problems import PROBLEM_RESPONSES, problem
from cchc.gateway.workbooks.form_ii06a import ii06a_workbook
from cchc.gateway.workbooks.negotiation import XLSX_RESPONSE, wants_xlsx, xlsx_response

router = APIRouter(prefix="/api/v1", tags=["dossier statistics"], responses=PROBLEM_RESPONSES)

PROVINCE_UNIT = "Ủy ban nhân dân tỉnh"  # the reporting unit of a form summed over agencies


@router.get("/dossier-stats", operation_id="get_dossier_stats",
             response_model=ANSWERS[("dossier", "dossier-stats")], responses=XLSX_RESPONSE)
async def get_dossier_stats(
    gw: GatewayDep, call: QueryCallDep,
    start: Annotated[date, Query(alias="from", description="first day of the period")],
    to: Annotated[date, Query(description="last day; judged as of its end")],
    agency: Annotated[str | None, Query(pattern=TOKEN_PATTERN)] = None,
    method: Annotated[Literal["form", "766"], Query(description=(
        "form: the report form's clock (a supplementation restarts the statutory time); 766: "
        "Decision 766's (the supplementation period subtracted, more than one request late)"
    ))] = "form",
    by: Annotated[Literal["field"] | None, Query(
        description="field: also the agency's figures per field of procedures (by_field)")] = None,
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
):
    require_readable(call.caller, agency)
    if start > to:
        raise problem(422, "from is after to", field="from")
    if by == "field" and agency is None:
        raise problem(422, "by=field needs an agency", field="by")
    workbook = wants_xlsx(accept)
    if method == "766" and (workbook or by is not None):
        raise problem(422, "the II.06a workbook and by=field count by the report form's clock",
                      field="method")
    query = DossierStatsQuery(agency=agency, from_=start, to=to, method=method)
    body = query.model_dump(mode="json", by_alias=True)
    if not workbook and by is None:
        return await ask_query(gw, call, SERVICE, "dossier-stats", body)
    position = call.position_in(SERVICE)
    stats = await ask_result(gw, call, SERVICE, "dossier-stats", body, min_position=position)
    if agency is not None:  # the form of one agency has a row per field
        fields = await ask_result(gw, call, SERVICE, "dossier-stats-by-field", body,
                                  min_position=position)
        stats["by_field"] = fields["by_field"]
    if not workbook:
        return stats
    names = await agency_names(gw, call)
    unit = names.get(agency, agency) if agency else PROVINCE_UNIT
    filename = f"bieu-II.06a-{agency or 'tinh'}-{start.isoformat()}-{to.isoformat()}.xlsx"
    return xlsx_response(ii06a_workbook(stats, unit, names), filename)
