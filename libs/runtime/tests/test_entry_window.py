"""The entry window: officers act in the present; admin and home_affairs may enter the past."""

from datetime import UTC, datetime, timedelta

import pytest

from cchc.contracts.messages import Principal, Role
from cchc.runtime.domain_errors import InvalidCommand
from cchc.runtime.entry_window import EntryWindow

NOW = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
OFFICER = Principal(sub="o", role=Role.OFFICER, agency="STTTT")
ADMIN = Principal(sub="a", role=Role.ADMIN)
HOME_AFFAIRS = Principal(sub="h", role=Role.HOME_AFFAIRS)


def test_a_time_inside_the_window_is_an_ordinary_entry():
    assert EntryWindow().check(OFFICER, "resolved_at", NOW - timedelta(hours=23), NOW) is None


def test_an_officers_time_older_than_the_window_is_refused_naming_field_and_window():
    with pytest.raises(InvalidCommand) as refused:
        EntryWindow().check(OFFICER, "resolved_at", NOW - timedelta(days=10), NOW)
    assert refused.value.field == "resolved_at"
    assert "24 hours" in refused.value.message


@pytest.mark.parametrize("principal", [ADMIN, HOME_AFFAIRS])
def test_admin_and_home_affairs_enter_older_times_as_late_entries(principal):
    late = EntryWindow(hours=6).check(principal, "received_at", NOW - timedelta(hours=7), NOW,
                                      reason="  nhập lại sổ tiếp nhận giấy  ")
    assert late is not None and late.window_hours == 6 and late.reason == "nhập lại sổ tiếp nhận giấy"


@pytest.mark.parametrize("principal", [OFFICER, ADMIN])
def test_nobody_enters_a_time_in_the_future(principal):
    with pytest.raises(InvalidCommand) as refused:
        EntryWindow().check(principal, "received_at", NOW + timedelta(minutes=5), NOW)
    assert refused.value.field == "received_at" and "future" in refused.value.message


def test_a_client_clock_a_few_seconds_fast_is_not_the_future():
    assert EntryWindow().check(OFFICER, "received_at", NOW + timedelta(seconds=20), NOW) is None


def test_the_window_is_configurable():
    window = EntryWindow(hours=48)
    assert window.check(OFFICER, "completed_at", NOW - timedelta(hours=47), NOW) is None
    with pytest.raises(InvalidCommand, match="48 hours"):
        window.check(OFFICER, "completed_at", NOW - timedelta(hours=49), NOW)
