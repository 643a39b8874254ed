"""Imports (admin, home_affairs): a procedure catalogue or a year of dossiers from a CSV or XLSX
file, sent as the body (``cchc.gateway.importing``).

Every row is checked before anything is written: one refused row refuses the file (422, each
refused row with its number, column and reason). Accepted rows become the commands the API
would send, with their original times, each event marked as imported (file and row); their
idempotency keys are derived from the rows, so importing the same file again writes nothing.
"""

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from cchc.contracts.dossier_commands import SERVICE
from cchc.contracts.gateway_views import ImportReport
from cchc.contracts.messages import CommandMeta, Request as ServiceRequest
from cchc.contracts.subjects import stream_name
from cchc.gateway.deps import GatewayDep, ProvincialWriter
from cchc.gateway.importing.dossier_rows import check_dossiers
from cchc.gateway.importing.procedure_rows import check_procedures
from cchc.gateway.importing.rows import Checked
from cchc.gateway.importing.runner import StepRefused, send_rows
from cchc.gateway.importing.sheets import UnreadableFile, read_rows
from cchc.gateway.problems import PROBLEM_RESPONSES, problem, problem_responses
from cchc.runtime.endpoints import ServiceUnavailable

router = APIRouter(prefix="/api/v1", tags=["imports"], responses=PROBLEM_RESPONSES)

FILE_BODY = {"content": {
    "text/csv": {"schema": {"type": "string"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}}}, "required": True}
FileName = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^/\\]+$",
                                description="the file's name, kept on each imported event")]


def refused_response(checked: Checked, rows: int) -> JSONResponse:
    rejected = sorted(checked.refusals, key=lambda r: r.row)
    count = len({r.row for r in rejected})
    return JSONResponse(status_code=422, media_type="application/problem+json", content={
        "type": "about:blank", "title": "Invalid import", "status": 422,
        "detail": f"{count} of {rows} rows refused; nothing was written",
        "errors": [{"field": f"row {r.row}: {r.field}", "message": r.reason} for r in rejected],
        "rejected": [r.as_dict() for r in rejected],
    })


async def _pages(gw: Any, caller: Any, endpoint: str, head: int) -> list[dict[str, Any]]:
    """Every item of a list, read once the read model has caught up with ``head`` (an agency
    registered, a procedure published just before the import counts)."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        body = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        reply = await gw.services.call(SERVICE, endpoint, ServiceRequest(
            meta=CommandMeta(principal=caller, correlation_id="import"), body=body,
            min_position=head or None))
        if not reply.ok or reply.result is None:
            raise problem(503, f"the dossier service could not list ({endpoint})")
        items += reply.result["items"]
        cursor = reply.result.get("next_cursor")
        if not cursor:
            return items


async def _import(request: Request, gw: Any, caller: Any, file_name: str, kind: str):
    try:
        header, rows = read_rows(await request.body())
    except UnreadableFile as error:
        raise problem(422, str(error), field="file") from None
    start = (await gw.nc.jetstream().stream_info(stream_name(SERVICE))).state.last_seq
    if kind == "procedures":
        agencies = {a["code"]: a["name"]
                    for a in await _pages(gw, caller, "list-agencies", start)}
        checked = check_procedures(header, rows, agencies, file_name)
    else:
        catalogue = {p["code"]: p["agency"]
                     for p in await _pages(gw, caller, "list-procedures", start)}
        checked = check_dossiers(header, rows, catalogue, file_name, datetime.now(UTC))
    if checked.refusals:
        return refused_response(checked, len(rows))
    last_position = 0

    async def send(endpoint: str, body: dict[str, Any], target: str | None, key: str):
        nonlocal last_position
        meta = CommandMeta(principal=caller, correlation_id=f"import-{key}"[:120],
                           idempotency_key=key)
        try:
            reply = await gw.services.call(SERVICE, endpoint, ServiceRequest(
                meta=meta, body=body, target=target))
        except ServiceUnavailable:
            raise StepRefused("", "the dossier service did not answer") from None
        if not reply.ok or reply.result is None:
            fields = [e.field for e in (reply.problem.errors if reply.problem else [])]
            raise StepRefused(", ".join(fields), reply.problem.detail if reply.problem else "")
        last_position = max(last_position, reply.position or 0)
        return reply.result, (reply.position or 0) <= start

    outcome = await send_rows(checked, send)
    status = 200 if not outcome.refused else 207
    headers = {"X-Event-Position": str(last_position)} if last_position else {}
    return JSONResponse(outcome.report(), status_code=status, headers=headers)


@router.post("/imports/procedures", operation_id="import_procedures",
             response_model=ImportReport, responses=problem_responses(422),
             openapi_extra={"requestBody": FILE_BODY})
async def import_procedures(request: Request, gw: GatewayDep, caller: ProvincialWriter,
                            file_name: FileName = "upload.csv"):
    """A procedure catalogue in the national procedure database's export layout."""
    return await _import(request, gw, caller, file_name, "procedures")


@router.post("/imports/dossiers", operation_id="import_dossiers",
             response_model=ImportReport, responses=problem_responses(422),
             openapi_extra={"requestBody": FILE_BODY})
async def import_dossiers(request: Request, gw: GatewayDep, caller: ProvincialWriter,
                          file_name: FileName = "upload.csv"):
    """Dossiers in a one-stop-shop system's export layout."""
    return await _import(request, gw, caller, file_name, "dossiers")
