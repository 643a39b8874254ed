"""Local calendar dates: every date of the domain is a day in Asia/Ho_Chi_Minh."""

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_date(moment: datetime) -> date:
    return moment.astimezone(LOCAL_TZ).date()


def start_of_day(day: date) -> datetime:
    return datetime.combine(day, time(0), LOCAL_TZ)
