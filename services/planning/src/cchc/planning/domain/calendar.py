"""Local calendar dates: every date of the domain is a day in Asia/Ho_Chi_Minh."""

from cchc.contracts.localtime import LOCAL_TZ, local_date, start_of_day

__all__ = ["LOCAL_TZ", "local_date", "start_of_day"]
