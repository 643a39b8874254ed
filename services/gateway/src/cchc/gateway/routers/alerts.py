"""Alerts: an agency's dossiers due today and on the next working day, and its overdue ones.

``GET /alerts`` reads them (scoped to what the caller may read, like every read);
``POST /alerts/deliveries`` delivers the digests now, as the working morning's run does: the
live event stream, email and webhook (whichever are configured).
"""

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from cchc.contracts.answers import ANSWERS
from cchc.contracts.dossier_commands import SERVICE
from cchc.contracts.localtime import local_date
from cchc.contracts.messages import Role
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.alerts.delivery import deliver
from cchc.gateway.alerts.live import LiveAlerts
from cchc.gateway.deps import (
    GatewayDep,
    QueryCallDep,
    Writer,
    require_readable,
    require_writable,
)
from cchc.gateway.forwarding import ask_query
from cchc.gateway.problems import PROBLEM_RESPONSES, problem

router = APIRouter(prefix="/api/v1", tags=["alerts"], responses=PROBLEM_RESPONSES)


# The calendar (holidays.VN, its lunar dates) covers these years.
FIRST_YEAR, LAST_YEAR = 2000, 2100


def live_alerts(request: Request) -> LiveAlerts:
    return request.app.state.live_alerts


def _day(day: date | None) -> date:
    day = day or local_date(datetime.now(UTC))
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise problem(422, f"day must be in {FIRST_YEAR} to {LAST_YEAR}", field="day")
    return day


@router.get("/alerts", operation_id="get_alerts", response_model=ANSWERS[(SERVICE, "alerts")])
async def get_alerts(
    gw: GatewayDep, call: QueryCallDep,
    agency: Annotated[str | None, Query(pattern=TOKEN_PATTERN)] = None,
    day: Annotated[date | None, Query(description="a day in Asia/Ho_Chi_Minh; default today")]
    = None,
):
    require_readable(call.caller, agency)
    day = _day(day)
    return await ask_query(gw, call, SERVICE, "alerts",
                           {"agency": agency, "day": day.isoformat()})


class DeliverAlerts(BaseModel):
    agency: str | None = Field(default=None, pattern=TOKEN_PATTERN,
                               description="one agency; default every agency the caller writes")
    day: date | None = Field(default=None, description="default today (Asia/Ho_Chi_Minh)")


class AgencyDelivery(BaseModel):
    agency: str
    count: int
    streams: int = Field(description="live event streams that received the digest")
    email: str = Field(description="sent, not configured, or failed: <reason>")
    webhook: str = Field(description="sent, not configured, or failed: <reason>")


class AlertDeliveries(BaseModel):
    day: str
    working_day: bool
    count: int
    delivered: list[AgencyDelivery]


@router.post("/alerts/deliveries", operation_id="deliver_alerts", response_model=AlertDeliveries)
async def deliver_alerts(gw: GatewayDep, caller: Writer, call: QueryCallDep, request: Request,
                         command: DeliverAlerts) -> dict:
    agency = command.agency
    if agency is not None:
        require_writable(caller, agency)
    elif caller.role == Role.OFFICER:
        agency = caller.agency  # an officer delivers its own agency's digest
    return await deliver(gw, live_alerts(request), call, _day(command.day), agency)
