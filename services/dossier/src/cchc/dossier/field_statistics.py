"""Report-form statistics (Biểu II.06a) of one agency, a row per field of procedures (lĩnh vực).

The form of one agency lists its fields. The daily counters (``statistics.dossier_stats``) are
kept per agency only, so this is counted from the agency's dossier rows, joined to their
procedure's field, with the same definitions as ``statistics.dossier_stats_reference``: received
in [from, to] by channel, carried over (received before ``from``, still open at it), resolved in
the period by timeliness, withdrawn, and open at the end of ``to`` with the due date in force
then, and the late entries (events dated in the period, entered after the fact). The fields'
figures add up to the agency's.

A scan of one agency's dossiers: asked only for the field breakdown (the Excel form), never by
the plain statistics.
"""

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from cchc.dossier.domain.calendar import local_date
from cchc.dossier.statistics import _add_totals, _end_of, empty_stats
from cchc.dossier.tables import dossiers, due_periods, history, procedures

UNKNOWN_FIELD = "(chưa rõ lĩnh vực)"  # a dossier whose procedure is missing from the catalogue


async def dossier_stats_by_field(
    conn: AsyncConnection, agency: str, start: date, end: date
) -> dict[str, dict[str, Any]]:
    """The agency's statistics per field of procedures (only fields with any figure)."""
    d = dossiers.c
    field = func.coalesce(procedures.c.field, UNKNOWN_FIELD).label("field")
    joined = dossiers.outerjoin(procedures, procedures.c.code == d.procedure)
    mine = d.agency == agency
    per_field: dict[str, dict[str, Any]] = defaultdict(empty_stats)

    received = select(field, d.channel, func.count()).select_from(joined).where(
        mine, d.received_on.between(start, end)).group_by(field, d.channel)
    for name, channel, count in await conn.execute(received):
        per_field[name]["received"][channel] += count

    carried = select(field, func.count()).select_from(joined).where(
        mine, d.received_on < start, or_(d.closed_on.is_(None), d.closed_on >= start),
    ).group_by(field)
    for name, count in await conn.execute(carried):
        per_field[name]["received"]["carried_over"] += count

    resolved = select(field, d.timeliness, func.count()).select_from(joined).where(
        mine, d.resolved_on.is_not(None), d.closed_on.between(start, end),
    ).group_by(field, d.timeliness)
    for name, timeliness, count in await conn.execute(resolved):
        per_field[name]["resolved"][timeliness] += count

    withdrawn = select(field, func.count()).select_from(joined).where(
        mine, d.withdrawn_on.is_not(None), d.closed_on.between(start, end),
    ).group_by(field)
    for name, count in await conn.execute(withdrawn):
        per_field[name]["withdrawn"] += count

    for name, overdue, count in await conn.execute(_open_at_end(agency, end)):
        per_field[name]["in_progress"]["overdue" if overdue else "not_due"] += count

    h = history.c
    late = select(field, h.occurred_at).select_from(
        history.join(dossiers, h.dossier_id == d.id)
        .outerjoin(procedures, procedures.c.code == d.procedure))
    for name, occurred_at in await conn.execute(late.where(mine, h.late_entry.is_not(None))):
        if start <= local_date(occurred_at) <= end:
            per_field[name]["late_entries"] += 1

    for stats in per_field.values():
        _add_totals(stats)
    return {name: per_field[name] for name in sorted(per_field)}


def _open_at_end(agency: str, end: date):  # type: ignore[no-untyped-def]
    """The agency's dossiers open at the end of ``end``, by field, overdue or not (the due date
    in force then, as in ``statistics._open_at_end``)."""
    d, p = dossiers.c, due_periods.c
    later = due_periods.alias("later")
    latest_position = (
        select(func.max(later.c.position))
        .where(later.c.dossier_id == d.id, later.c.valid_from < _end_of(end))
        .correlate(dossiers)
        .scalar_subquery()
    )
    field = func.coalesce(procedures.c.field, UNKNOWN_FIELD).label("field")
    overdue = and_(p.due_on.is_not(None), p.due_on < end).label("overdue")
    return (
        select(field, overdue, func.count())
        .select_from(dossiers.join(due_periods, p.dossier_id == d.id)
                     .outerjoin(procedures, procedures.c.code == d.procedure))
        .where(
            d.agency == agency, d.received_on <= end,
            or_(d.closed_on.is_(None), d.closed_on > end), p.position == latest_position,
        )
        .group_by(field, overdue)
    )
