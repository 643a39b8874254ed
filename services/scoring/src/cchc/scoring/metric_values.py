"""The values of every metric for one agency and year, from the service's own tables.

As of the end of the year, whatever happens later: the plan's tasks added, completed or
cancelled by 31 December; the dossiers received (by receipt day) and resolved in the year; the
procedures whose publishing decision is dated by its end. So a past year's assessment gives the
same points whenever it is read.
"""

from datetime import date

from cchc.scoring import tables
from cchc.scoring.domain.metrics import MetricValues, rate
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


async def metric_values(conn: AsyncConnection, agency: str, year: int) -> MetricValues:
    t, d, p = tables.metric_tasks.c, tables.metric_dossiers.c, tables.metric_procedures.c

    end = date(year, 12, 31)
    total, completed, cancelled = (await conn.execute(
        select(func.count(), _count_if(t.completed_on <= end), _count_if(t.cancelled_on <= end))
        .where(t.agency == agency, t.year == year, t.added_on <= end)
    )).one()

    received, online = (await conn.execute(
        select(func.count(), _count_if(d.channel == "online"))
        .where(d.agency == agency, d.received_year == year)
    )).one()

    resolved, timely, timely_766 = (await conn.execute(
        select(func.count(), _count_if(d.timeliness.in_(("early", "on_time"))),
               _count_if(d.timeliness_766.in_(("early", "on_time"))))
        .where(d.agency == agency, d.resolved_year == year)
    )).one()

    published, full, partial = (await conn.execute(
        select(func.count(), _count_if(p.online_level == "full"),
               _count_if(p.online_level == "partial"))
        .where(p.agency == agency, p.published_on <= end)
    )).one()

    return {
        "plan.completion_rate": rate(completed or 0, total - (cancelled or 0)),
        "dossier.on_time_rate": rate(timely or 0, resolved),
        "dossier.on_time_rate_766": rate(timely_766 or 0, resolved),
        "dossier.online_rate": rate(online or 0, received),
        "procedures.published": float(published),
        "procedures.full_online_rate": rate(full or 0, published),
        "procedures.online_rate": rate((full or 0) + (partial or 0), published),
    }


async def read_metric_values(engine: AsyncEngine, agency: str, year: int) -> MetricValues:
    async with engine.connect() as conn:
        return await metric_values(conn, agency, year)


def _count_if(condition):  # type: ignore[no-untyped-def]
    return func.sum(case((condition, 1), else_=0))
