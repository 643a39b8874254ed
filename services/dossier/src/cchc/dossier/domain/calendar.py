"""Vietnam's working-day calendar and the dossier clock's day arithmetic.

Working days are Monday to Friday, minus public holidays (holidays.VN knows lunar Tết, Hùng
Kings, observed days and the government's swaps), plus make-up working Saturdays; on top, the
province's own declarations win. The office day ends at 17:00 in Asia/Ho_Chi_Minh.
"""

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from cchc.contracts.dossier import DayKind, Timeliness
from cchc.contracts.localtime import LOCAL_TZ, local_date

OFFICE_CLOSES = time(17, 0)
# Far enough for any statutory time limit; stops a calendar declared all off from looping.
MAX_SEARCH_DAYS = 3660


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: times need an offset")
    return moment


def closing_time(day: date) -> datetime:
    return datetime.combine(day, OFFICE_CLOSES, LOCAL_TZ)


@lru_cache(maxsize=256)
def _statutory_year(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """(public days off, make-up working weekend days) of one year, per holidays.VN."""
    calendar = holidays.VN(years=year)
    days_off = frozenset(day for day in calendar if day.year == year)
    workdays = frozenset(day for day in calendar.weekend_workdays if day.year == year)
    return days_off, workdays


def statutory_working_day(day: date) -> bool:
    days_off, weekend_workdays = _statutory_year(day.year)
    if day in weekend_workdays:
        return True
    return day.weekday() < 5 and day not in days_off


class WorkingCalendar:
    """The statutory calendar with the province's declarations on top (a declaration wins)."""

    def __init__(self, declared: Mapping[date, DayKind] | None = None) -> None:
        self._declared = dict(declared or {})

    def is_working_day(self, day: date) -> bool:
        kind = self._declared.get(day)
        if kind is not None:
            return kind == DayKind.WORKING_DAY
        return statutory_working_day(day)

    def next_working_day(self, day: date) -> date:
        return self.nth_working_day_after(day, 1)

    def nth_working_day_after(self, day: date, n: int) -> date:
        if n < 1:
            raise ValueError("n must be at least 1")
        current, found = day, 0
        for _ in range(MAX_SEARCH_DAYS):
            current += timedelta(days=1)
            if self.is_working_day(current):
                found += 1
                if found == n:
                    return current
        raise ValueError(f"no {n} working days within {MAX_SEARCH_DAYS} days after {day}")

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days fall after ``start``, up to and including ``end`` (0 if none)."""
        count, current = 0, start
        for _ in range(MAX_SEARCH_DAYS):
            if current >= end:
                return count
            current += timedelta(days=1)
            count += self.is_working_day(current)
        raise ValueError(f"more than {MAX_SEARCH_DAYS} days from {start} to {end}")

    def receipt_day(self, moment: datetime) -> date:
        """The day the clock counts from: today if a working day before closing, else the next."""
        local = _aware(moment).astimezone(LOCAL_TZ)
        if self.is_working_day(local.date()) and local.time() < OFFICE_CLOSES:
            return local.date()
        return self.next_working_day(local.date())

    def due_at(self, receipt_day: date, processing_days: int) -> datetime:
        """Closing time of the ``processing_days``-th working day after the day of receipt."""
        return closing_time(self.nth_working_day_after(receipt_day, processing_days))


def timeliness(resolved_at: datetime, due_at: datetime) -> Timeliness:
    """Early, on time or late, comparing calendar dates (trước hạn / đúng hạn / trễ hạn)."""
    resolved, due = local_date(resolved_at), local_date(due_at)
    if resolved < due:
        return Timeliness.EARLY
    if resolved == due:
        return Timeliness.ON_TIME
    return Timeliness.LATE
