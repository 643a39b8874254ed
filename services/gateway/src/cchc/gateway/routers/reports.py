"""Reports: an agency's CCHC report as of a date, composed from the services over NATS.

Dossier statistics from 1 January of the year to ``as_of`` and the published procedures come
from the dossier service, the plan's progress as of that date from the planning service, the
latest published year of each index (with its rank) from the scoring service. ``Accept:
text/html`` gets the same report as a Vietnamese page, ``Accept: application/vnd.openxmlformats-
officedocument.spreadsheetml.sheet`` as a workbook (the report sheet and its II.06a form).
"""

import asyncio
from datetime import UTC, date, datetime
from typing import Annotated

from cchc.contracts.gateway_views import AgencyReport
from cchc.contracts.localtime import local_date
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.deps import Gateway, GatewayDep, QueryCall, QueryCallDep, require_readable
from cchc.gateway.forwarding import ask_result
from cchc.gateway.problems import PROBLEM_RESPONSES, problem
from cchc.gateway.report_anchor import report_anchor
from cchc.gateway.report_page import render_agency_report
from cchc.gateway.workbooks.agency_report import agency_report_workbook
from cchc.gateway.workbooks.negotiation import XLSX, wants_xlsx, xlsx_response
from fastapi import APIRouter, Header, Query
from fastapi.responses import HTMLResponse, JSONResponse

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=PROBLEM_RESPONSES)

HTML_RESPONSE = {200: {"content": {"text/html": {}, XLSX: {}},
                       "description": "the report (JSON, HTML or an Excel workbook)"}}


async def _positions(gw: Gateway, call: QueryCall) -> dict[str, int | None]:
    """What each context's read waits for (read-your-writes across the three logs the report
    reads). Named by context, each its own; one plain position is someone's write in one of
    them, so each read waits for it as far as its own log reaches (a position beyond a log's
    head cannot be one of its events)."""
    if call.min_positions or call.min_position is None:
        return {context: call.position_in(context) for context in REPORT_CONTEXTS}
    heads = await asyncio.gather(*(gw.events.last_position(c) for c in REPORT_CONTEXTS))
    return {context: min(call.min_position, head)
            for context, head in zip(REPORT_CONTEXTS, heads, strict=True)}


REPORT_CONTEXTS = ("dossier", "planning", "scoring")


async def _procedures_published(gw: Gateway, call: QueryCall, agency: str, as_of: date,
                                min_position: int | None) -> int:
    """The agency's procedures whose publishing decision is dated ``as_of`` or earlier."""
    answer = await ask_result(gw, call, "dossier", "procedures-published",
                           {"agency": agency, "as_of": as_of.isoformat()},
                           min_position=min_position)
    return answer["published"]


PLAN_FIELDS = ("total", "completed", "completed_on_time", "completed_late", "in_progress",
               "overdue", "cancelled", "completion_rate")


async def _plan(gw: Gateway, call: QueryCall, agency: str, year: int, as_of: date,
                min_position: int | None) -> dict:
    progress = await ask_result(gw, call, "planning", "plan-of",
                             {"agency": agency, "year": year, "as_of": as_of.isoformat()},
                             min_position=min_position)
    if progress["plan_id"] is None:
        return {"plan_id": None, "total": 0, "completed": 0, "cancelled": 0, "overdue": 0,
                "completion_rate": None}
    return {"plan_id": progress["plan_id"], **{k: progress[k] for k in PLAN_FIELDS}}


def _wants_html(accept: str | None) -> bool:
    """HTML when the client ranks text/html above JSON (a browser does; no header is JSON)."""
    html = json = 0.0
    for part in (accept or "").split(","):
        media, *params = [p.strip() for p in part.split(";")]
        quality = 1.0
        for param in params:
            if param.startswith("q="):
                try:
                    quality = float(param[2:])
                except ValueError:
                    quality = 0.0
        if media in ("text/html", "application/xhtml+xml"):
            html = max(html, quality)
        elif media in ("application/json", "application/*"):
            json = max(json, quality)
    return html > json


@router.get("/reports/agency", operation_id="get_agency_report", response_model=AgencyReport,
            responses=HTML_RESPONSE)
async def agency_report(
    gw: GatewayDep, call: QueryCallDep,
    agency: Annotated[str, Query(pattern=TOKEN_PATTERN, description="agency code")],
    year: Annotated[int, Query(ge=2000, le=2100)],
    as_of: Annotated[date | None, Query(description="a day in Asia/Ho_Chi_Minh; default today")]
    = None,
    accept: Annotated[str | None, Header()] = None,
):
    require_readable(call.caller, agency)
    as_of = as_of or local_date(datetime.now(UTC))
    start = date(year, 1, 1)
    if as_of < start:
        raise problem(422, f"as_of is before 1 January {year}", field="as_of")
    end = min(as_of, date(year, 12, 31))  # a later date reports the whole year
    positions = await _positions(gw, call)
    stats, procedures, plan, indexes, anchor = await asyncio.gather(
        ask_result(gw, call, "dossier", "dossier-stats",
                {"agency": agency, "from": start.isoformat(), "to": end.isoformat()},
                min_position=positions["dossier"]),
        _procedures_published(gw, call, agency, as_of, positions["dossier"]),
        _plan(gw, call, agency, year, as_of, positions["planning"]),
        ask_result(gw, call, "scoring", "agency-indexes",
                {"agency": agency, "as_of": as_of.isoformat()},
                min_position=positions["scoring"]),
        report_anchor(gw.nc),
    )
    report = {
        "agency": agency, "agency_name": indexes.get("agency_name"), "year": year,
        "as_of": as_of.isoformat(), "plan": plan, "dossiers": stats,
        "procedures_published": procedures,
        "indexes": [{k: item[k] for k in ("index", "year", "score", "rank", "of", "group")}
                    for item in indexes["items"]],
        "anchor": anchor,
    }
    if wants_xlsx(accept):
        return xlsx_response(agency_report_workbook(report),
                             f"bao-cao-cchc-{agency}-{year}-{as_of.isoformat()}.xlsx")
    if _wants_html(accept):
        return HTMLResponse(render_agency_report(report))
    return JSONResponse(report)
