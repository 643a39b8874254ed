"""Alerts: each agency's open dossiers due today, due on the next working day, and overdue.

Read from the alerts projection (``alert_tables``); the day's working-day facts come from the
calendar (holidays.VN and the province's declarations in the main read model). "Tomorrow" is
the next working day: on a Friday the officer is warned about Monday's dossiers, since no
dossier falls due on a day off.
"""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc.contracts.dossier import DayKind
from cchc.contracts.dossier_commands import AlertsQuery
from cchc.contracts.localtime import LOCAL_TZ
from cchc.contracts.messages import Reply, Request
from cchc.dossier import alert_tables, tables
from cchc.dossier.domain.calendar import WorkingCalendar
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.reads import caught_up, readable_agencies

KINDS = ("due_today", "due_tomorrow", "overdue")


class AlertQueries:
    def __init__(self, engine: AsyncEngine, alerts: ProjectionRunner,
                 read_model: ProjectionRunner) -> None:
        self.engine = engine
        self.alerts = alerts
        self.read_model = read_model

    async def alerts_of_day(self, request: Request[AlertsQuery]) -> Reply[dict[str, Any]]:
        # The caller's position is in the one DOSSIER log both projections read.
        await caught_up(self.alerts, request)
        await caught_up(self.read_model, request)
        query = request.body
        agencies = readable_agencies(request.meta.principal, query.agency)
        async with self.engine.connect() as conn:
            calendar = await _calendar(conn)
            tomorrow = calendar.next_working_day(query.day)
            per_agency = await _alerts(conn, agencies, query.day, tomorrow)
        if query.agency is not None and query.agency not in per_agency:
            per_agency[query.agency] = _empty(query.agency)
        items = [per_agency[code] for code in sorted(per_agency)]
        return Reply(ok=True, result={
            "day": query.day.isoformat(), "working_day": calendar.is_working_day(query.day),
            "next_working_day": tomorrow.isoformat(),
            "count": sum(item["count"] for item in items), "agencies": items,
        })


def _empty(agency: str) -> dict[str, Any]:
    return {"agency": agency, **{kind: [] for kind in KINDS}, "count": 0}


async def _calendar(conn: AsyncConnection) -> WorkingCalendar:
    rows = await conn.execute(select(tables.calendar_days.c.day, tables.calendar_days.c.kind))
    return WorkingCalendar({row.day: DayKind(row.kind) for row in rows})


async def _alerts(conn: AsyncConnection, agencies: list[str] | None, day: date,
                  tomorrow: date) -> dict[str, dict[str, Any]]:
    a, p = alert_tables.open_dossiers.c, tables.procedures.c
    query = (
        select(a.dossier_id, a.receipt_code, a.agency, a.procedure, p.name, a.applicant_name,
               a.received_at,
               a.due_at, a.due_on, a.appointment_at)
        .select_from(alert_tables.open_dossiers.outerjoin(
            tables.procedures, p.code == a.procedure))
        .where(a.due_on.is_not(None), a.due_on <= tomorrow,
               *([a.agency.in_(agencies)] if agencies is not None else []))
        .order_by(a.agency, a.due_at, a.dossier_id)
    )
    per_agency: dict[str, dict[str, Any]] = {}
    for row in await conn.execute(query):
        if row.due_on < day:
            kind = "overdue"
        elif row.due_on == day:
            kind = "due_today"
        else:
            kind = "due_tomorrow"
        entry = per_agency.setdefault(row.agency, _empty(row.agency))
        entry[kind].append(_item(row))
        entry["count"] += 1
    return per_agency


def _local(moment: Any) -> str | None:
    return moment.astimezone(LOCAL_TZ).isoformat() if moment is not None else None


def _item(row: Any) -> dict[str, Any]:
    return {
        "id": row.dossier_id, "receipt_code": row.receipt_code, "procedure": row.procedure,
        "procedure_name": row.name,
        "applicant_name": row.applicant_name, "received_at": _local(row.received_at),
        "due_at": _local(row.due_at), "due_on": row.due_on.isoformat(),
        "appointment_at": _local(row.appointment_at),
    }
