"""The published language's clock: every date-only value is a calendar date in
Asia/Ho_Chi_Minh, and times travel with their offset."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_date(moment: datetime) -> date:
    """The calendar date of an aware moment in Vietnam; a naive one is refused."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: times need an offset")
    return moment.astimezone(LOCAL_TZ).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)
