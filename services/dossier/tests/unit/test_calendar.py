"""Vietnam's working-day calendar and the day-of-receipt rule."""

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cchc.contracts.dossier import DayKind, Timeliness
from cchc.dossier.domain.calendar import LOCAL_TZ, WorkingCalendar, local_date, timeliness

VN = WorkingCalendar()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=LOCAL_TZ)


def test_tet_2022_is_skipped():
    assert VN.due_at(date(2022, 1, 28), 3) == at("2022-02-09T17:00")


def test_the_observed_30_april_and_1_may_2022_days_are_off():
    assert not VN.is_working_day(date(2022, 5, 2)) and not VN.is_working_day(date(2022, 5, 3))
    assert VN.due_at(date(2022, 4, 29), 3) == at("2022-05-06T17:00")


def test_a_make_up_saturday_is_a_working_day():
    assert VN.is_working_day(date(2026, 8, 22))  # swapped for Monday 31/8/2026
    assert not VN.is_working_day(date(2026, 8, 31))


def test_receipt_after_closing_or_on_a_day_off_counts_from_the_next_working_day():
    assert VN.receipt_day(at("2022-07-15T16:59")) == date(2022, 7, 15)
    assert VN.receipt_day(at("2022-07-15T17:00")) == date(2022, 7, 18)
    assert VN.receipt_day(at("2022-07-16T10:00")) == date(2022, 7, 18)  # Saturday, online
    assert VN.receipt_day(datetime(2022, 7, 15, 2, 0, tzinfo=UTC)) == date(2022, 7, 15)  # 09:00 +07


def test_a_declaration_wins_over_the_statutory_calendar():
    province = WorkingCalendar({
        date(2022, 7, 18): DayKind.DAY_OFF,  # a Monday declared off
        date(2022, 7, 23): DayKind.WORKING_DAY,  # a Saturday declared worked
        date(2022, 5, 2): DayKind.WORKING_DAY,  # an observed holiday worked anyway
    })
    assert province.nth_working_day_after(date(2022, 7, 15), 1) == date(2022, 7, 19)
    assert province.nth_working_day_after(date(2022, 7, 22), 1) == date(2022, 7, 23)
    assert province.is_working_day(date(2022, 5, 2))


def test_timeliness_compares_calendar_dates():
    due = at("2022-07-14T17:00")
    assert timeliness(at("2022-07-13T23:00"), due) == Timeliness.EARLY
    assert timeliness(at("2022-07-14T20:00"), due) == Timeliness.ON_TIME  # same date, after 17:00
    assert timeliness(at("2022-07-15T08:00"), due) == Timeliness.LATE


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        VN.receipt_day(datetime(2022, 7, 15, 9, 0))
    with pytest.raises(ValueError):
        local_date(datetime(2022, 7, 15, 9, 0))


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2027, 12, 31),
                        timezones=st.just(UTC)),
    days=st.integers(min_value=1, max_value=30),
)
def test_the_due_date_is_always_a_working_day_after_the_receipt_day(moment, days):
    receipt_day = VN.receipt_day(moment)
    due = VN.due_at(receipt_day, days)
    assert VN.is_working_day(receipt_day)
    assert VN.is_working_day(local_date(due)) and local_date(due) > receipt_day
    working_days_between = sum(
        VN.is_working_day(receipt_day + timedelta(days=i))
        for i in range(1, (local_date(due) - receipt_day).days + 1)
    )
    assert working_days_between == days
