"""What one cell of an export means: a time, a date, a number of days, a channel, an outcome.

The exports write times the Vietnamese way ("11/07/2022 09:30"); XLSX cells may hold real dates.
A value that cannot be read raises ``CellError`` with the reason a person can act on.
"""

import re
from datetime import date, datetime, time
from typing import Any

from cchc.contracts.localtime import LOCAL_TZ
from cchc.gateway.importing.sheets import header_key


class CellError(ValueError):
    """A cell that cannot be read, and why."""


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T,]+(\d{1,2})[:hg](\d{2})(?::(\d{2}))?)?$")


def moment(value: Any, default_time: time) -> datetime:
    """A local time: "11/07/2022 09:30", "11/07/2022" (at ``default_time``), ISO 8601, or an
    Excel date/time cell; always with Vietnam's offset unless one is written."""
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=LOCAL_TZ)
    if isinstance(value, date):
        return datetime.combine(value, default_time, LOCAL_TZ)
    text = str(value).strip()
    if match := _DMY.match(text):
        day, month, year, hour, minute, second = match.groups()
        try:
            when = datetime(int(year), int(month), int(day), int(hour or default_time.hour),
                            int(minute or default_time.minute), int(second or 0))
        except ValueError as error:
            raise CellError(f"{text!r} is not a real date ({error})") from None
        return when.replace(tzinfo=LOCAL_TZ)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise CellError(f"{text!r} is not a time: write dd/mm/yyyy hh:mm") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LOCAL_TZ)


def calendar_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return moment(value, time(0)).date()


def working_days(value: Any) -> int:
    """"05 ngày làm việc", "15 ngày", 10 -> the number of days."""
    if isinstance(value, (int, float)) and float(value).is_integer():
        return int(value)
    found = re.search(r"\d+", str(value))
    if not found:
        raise CellError(f"{value!r} names no number of working days")
    return int(found.group())


_LEVELS = (("toan trinh", "full"), ("muc do 4", "full"), ("full", "full"),
           ("mot phan", "partial"), ("muc do 3", "partial"), ("partial", "partial"),
           ("truc tiep", "none"), ("muc do 2", "none"), ("muc do 1", "none"), ("khong", "none"),
           ("none", "none"))
_CHANNELS = (("truc tuyen", "online"), ("online", "online"), ("truc tiep", "direct"),
             ("direct", "direct"), ("buu chinh", "postal"), ("buu dien", "postal"),
             ("postal", "postal"))
_OUTCOMES = (("chap thuan", "approved"), ("dong y", "approved"), ("dat", "approved"),
             ("approved", "approved"), ("tu choi", "rejected"), ("khong dat", "rejected"),
             ("rejected", "rejected"))


def _one_of(value: Any, table: tuple[tuple[str, str], ...], what: str) -> str:
    key = header_key(str(value))
    # The longest phrase first: "khong dat" is a rejection before "dat" is an approval.
    for phrase, meaning in sorted(table, key=lambda item: -len(item[0])):
        if phrase in key:
            return meaning
    known = ", ".join(sorted({p for p, _ in table if " " in p}))
    raise CellError(f"{value!r} is not a known {what} ({known})")


def online_level(value: Any) -> str:
    return _one_of(value, _LEVELS, "level of online service")


def channel(value: Any) -> str:
    return _one_of(value, _CHANNELS, "channel")


def outcome(value: Any) -> str:
    return _one_of(value, _OUTCOMES, "outcome")
