"""Report-form statistics (Biểu II.06a) for a period, as of its end.

Every figure comes from business times on the events, so the report for a past period is the
same whenever it is asked:
- received: receipt day in [from, to], by channel; carried over: received before ``from`` and
  still open at ``from``;
- resolved: resolution date in [from, to], by timeliness; withdrawn: withdrawal date in the period;
- late entries: dossier events whose business date is in [from, to] that were entered after the
  fact (older than the entry window when recorded), so an inspector sees which figures they touch;
- in progress: received by ``to`` and open at the end of ``to``; overdue when the statutory due
  date in force at the end of ``to`` is before ``to`` (a dossier due on ``to`` can still be
  resolved on time that day), not due otherwise (and while the clock is stopped for a supplement).

``dossier_stats`` reads the projection's daily counters (``dossier_daily_counts``): one grouped
query over at most (agencies x days up to ``to``) rows, whatever the number of dossiers.
``dossier_stats_reference`` is the same report computed from the dossier rows and their due
periods (a scan of the dossiers): the definition the counters are tested against.
"""

from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.dossier.domain.calendar import LOCAL_TZ, local_date
from cchc.dossier.tables import daily_counts, dossiers, due_periods, history

CHANNELS = ("online", "direct", "postal")
TIMELINESS = ("early", "on_time", "late")


def empty_stats() -> dict[str, Any]:
    return {
        "received": {"total": 0, "online": 0, "direct": 0, "postal": 0, "carried_over": 0},
        "resolved": {"total": 0, "early": 0, "on_time": 0, "late": 0},
        "in_progress": {"total": 0, "not_due": 0, "overdue": 0},
        "withdrawn": 0,
        "on_time_rate": None,
        "late_entries": 0,
    }


def _end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), LOCAL_TZ)


async def dossier_stats(
    conn: AsyncConnection, agencies: list[str] | None, start: date, end: date
) -> dict[str, dict[str, Any]]:
    """Statistics per agency (only agencies with any figure appear), from the daily counters.

    Over the days up to ``to``: received / resolved / withdrawn in the period are the sums over
    [from, to]; received and not closed = received by the day - closed by the day (closures are
    counted on max(receipt day, closing day)), so carried over is that sum before ``from`` and
    open at the end is that sum up to ``to``; overdue is the running sum of the overdue deltas.
    """
    c = daily_counts.c

    def in_period(column: Any) -> Any:
        return func.sum(case((c.day >= start, column), else_=0))

    received_not_closed = c.received_online + c.received_direct + c.received_postal - c.closed
    query = (
        select(
            c.agency, in_period(c.received_online), in_period(c.received_direct),
            in_period(c.received_postal),
            func.sum(case((c.day < start, received_not_closed), else_=0)),
            in_period(c.resolved_early), in_period(c.resolved_on_time),
            in_period(c.resolved_late), in_period(c.withdrawn),
            func.sum(received_not_closed), func.sum(c.overdue_delta), in_period(c.late_entries),
        )
        .where(c.day <= end, *([c.agency.in_(agencies)] if agencies is not None else []))
        .group_by(c.agency)
    )
    per_agency: dict[str, dict[str, Any]] = {}
    for agency, *figures in await conn.execute(query):
        (online, direct, postal, carried, early, on_time, late, withdrawn, still_open,
         overdue, late_entries) = (int(figure or 0) for figure in figures)
        if not any((online, direct, postal, carried, early, on_time, late, withdrawn, still_open,
                    late_entries)):
            continue
        stats = empty_stats()
        stats["received"].update(online=online, direct=direct, postal=postal,
                                 carried_over=carried)
        stats["resolved"].update(early=early, on_time=on_time, late=late)
        stats["in_progress"].update(not_due=still_open - overdue, overdue=overdue)
        stats["withdrawn"] = withdrawn
        stats["late_entries"] = late_entries
        _add_totals(stats)
        per_agency[agency] = stats
    return per_agency


async def dossier_stats_reference(
    conn: AsyncConnection, agencies: list[str] | None, start: date, end: date
) -> dict[str, dict[str, Any]]:
    """The same statistics straight from the dossier rows: slow, the definition."""
    d = dossiers.c
    scope = [d.agency.in_(agencies)] if agencies is not None else []
    per_agency: dict[str, dict[str, Any]] = defaultdict(empty_stats)

    received = select(d.agency, d.channel, func.count()).where(
        d.received_on.between(start, end), *scope
    ).group_by(d.agency, d.channel)
    for agency, channel, count in await conn.execute(received):
        per_agency[agency]["received"][channel] += count

    carried = select(d.agency, func.count()).where(
        d.received_on < start, or_(d.closed_on.is_(None), d.closed_on >= start), *scope
    ).group_by(d.agency)
    for agency, count in await conn.execute(carried):
        per_agency[agency]["received"]["carried_over"] += count

    resolved = select(d.agency, d.timeliness, func.count()).where(
        d.resolved_on.is_not(None), d.closed_on.between(start, end), *scope
    ).group_by(d.agency, d.timeliness)
    for agency, timeliness, count in await conn.execute(resolved):
        per_agency[agency]["resolved"][timeliness] += count

    withdrawn = select(d.agency, func.count()).where(
        d.withdrawn_on.is_not(None), d.closed_on.between(start, end), *scope
    ).group_by(d.agency)
    for agency, count in await conn.execute(withdrawn):
        per_agency[agency]["withdrawn"] += count

    for agency, overdue, count in await conn.execute(_open_at_end(scope, end)):
        per_agency[agency]["in_progress"]["overdue" if overdue else "not_due"] += count

    h = history.c
    late = select(d.agency, h.occurred_at).select_from(history.join(dossiers, h.dossier_id == d.id))
    for agency, occurred_at in await conn.execute(late.where(h.late_entry.is_not(None), *scope)):
        if start <= local_date(occurred_at) <= end:
            per_agency[agency]["late_entries"] += 1

    for stats in per_agency.values():
        _add_totals(stats)
    return dict(per_agency)


def _open_at_end(scope: list[Any], end: date):  # type: ignore[no-untyped-def]
    """Dossiers open at the end of ``end`` with the due date in force then: overdue or not."""
    d, p = dossiers.c, due_periods.c
    later = due_periods.alias("later")
    latest_position = (
        select(func.max(later.c.position))
        .where(later.c.dossier_id == d.id, later.c.valid_from < _end_of(end))
        .correlate(dossiers)
        .scalar_subquery()
    )
    overdue = and_(p.due_on.is_not(None), p.due_on < end).label("overdue")
    return (
        select(d.agency, overdue, func.count())
        .select_from(dossiers.join(due_periods, p.dossier_id == d.id))
        .where(
            d.received_on <= end, or_(d.closed_on.is_(None), d.closed_on > end),
            p.position == latest_position, *scope,
        )
        .group_by(d.agency, overdue)
    )


def _add_totals(stats: dict[str, Any]) -> None:
    received, resolved, in_progress = stats["received"], stats["resolved"], stats["in_progress"]
    received["total"] = sum(received[c] for c in CHANNELS) + received["carried_over"]
    resolved["total"] = sum(resolved[t] for t in TIMELINESS)
    in_progress["total"] = in_progress["not_due"] + in_progress["overdue"]
    stats["on_time_rate"] = (
        round((resolved["early"] + resolved["on_time"]) / resolved["total"], 4)
        if resolved["total"] else None
    )


def summed(stats: list[dict[str, Any]]) -> dict[str, Any]:
    total = empty_stats()
    for one in stats:
        for section in ("received", "resolved", "in_progress"):
            for key, value in one[section].items():
                total[section][key] += value
        total["withdrawn"] += one["withdrawn"]
        total["late_entries"] += one["late_entries"]
    _add_totals(total)
    return total
