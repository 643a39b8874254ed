"""The entry window: how far before the moment it is recorded a business time may lie.

Pure: the caller passes the moment of recording. An officer's time older than the window, or
any time in the future, is refused with the field named; ``admin`` and ``home_affairs`` may
enter older times (history, imports), which the event then carries as a ``LateEntry``.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from cchc.contracts.late_entry import LateEntry
from cchc.contracts.messages import Principal
from cchc.runtime.domain_errors import InvalidCommand

DEFAULT_WINDOW_HOURS = 24.0
# A client's clock a little ahead of the service's is not a time in the future.
CLOCK_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class EntryWindow:
    hours: float = DEFAULT_WINDOW_HOURS

    def check(
        self, principal: Principal, field: str, moment: datetime, recorded_at: datetime,
        reason: str | None = None, imported_from: str | None = None,
    ) -> LateEntry | None:
        """None for a timely entry; the LateEntry to record for an admitted late one (an import
        is always one: its facts happened in another system)."""
        if imported_from is not None and not principal.writes_everywhere:
            raise InvalidCommand("only admin and home_affairs import", field="imported_from")
        if moment > recorded_at + CLOCK_SKEW:
            raise InvalidCommand(
                f"{field} {moment.isoformat()} is after the moment it is recorded "
                f"({recorded_at.isoformat(timespec='seconds')}): a business time cannot be in "
                "the future", field=field)
        if moment >= recorded_at - timedelta(hours=self.hours) and imported_from is None:
            return None
        if not principal.writes_everywhere:
            raise InvalidCommand(
                f"{field} {moment.isoformat()} is more than {self.hours:g} hours before the "
                f"moment it is recorded ({recorded_at.isoformat(timespec='seconds')}); only "
                "admin and home_affairs may enter older times", field=field)
        return LateEntry(window_hours=self.hours, reason=(reason or "").strip(),
                         imported_from=imported_from)


def command_time_field(body: object, moment: datetime) -> str | None:
    """The command field that gave the event its business time (None when the service
    stamped it, or derived it from a date)."""
    for name in type(body).model_fields if hasattr(type(body), "model_fields") else ():
        value = getattr(body, name, None)
        if isinstance(value, datetime) and value == moment:
            return name
    return None


def entry_window(settings: object) -> EntryWindow:
    """The window a service's settings configure (``late_entry_window_hours``)."""
    return EntryWindow(getattr(settings, "late_entry_window_hours", DEFAULT_WINDOW_HOURS))
