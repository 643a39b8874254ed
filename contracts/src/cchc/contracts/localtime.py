"""The published language's clock: every date-only value is a calendar date in
Asia/Ho_Chi_Minh, and times travel with their offset."""

from datetime import UTC, date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, AwareDatetime

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# The moments a command may carry. Far wider than any dossier, plan or assessment, and far
# enough from year 1 and 9999 that local dates and working-day arithmetic never overflow
# (an event the projections cannot apply must never reach the log).
EARLIEST_BUSINESS_TIME = datetime(1900, 1, 1, tzinfo=UTC)
LATEST_BUSINESS_TIME = datetime(2200, 1, 1, tzinfo=UTC)


def within_business_range(moment: datetime) -> datetime:
    if not EARLIEST_BUSINESS_TIME <= moment < LATEST_BUSINESS_TIME:
        raise ValueError("a time must fall in the years 1900 to 2199")
    return moment


BusinessTime = Annotated[AwareDatetime, AfterValidator(within_business_range)]


def local_date(moment: datetime) -> date:
    """The calendar date of an aware moment in Vietnam; a naive one is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: times need an offset")
    return moment.astimezone(LOCAL_TZ).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)
