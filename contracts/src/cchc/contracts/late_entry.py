"""Late entries: business times entered after the fact.

An officer's business time (a receipt, a resolution, a task's completion) is the moment the
officer acts, recorded within a small window (default 24 hours) and never in the future. Older
times, from history or imports, may be entered only by ``admin`` and ``home_affairs``; each such
event carries a ``LateEntry`` in its envelope, inside the hash chain, so it stays marked.
"""

from pydantic import BaseModel, ConfigDict, Field

REASON_MAX = 500


class LateEntry(BaseModel):
    """Why an event's business time is older than the window allowed when it was recorded."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_hours: float = Field(gt=0, description="the entry window in force when it was recorded")
    reason: str = Field(default="", max_length=REASON_MAX,
                        description="the reason given with the command (empty when none)")
    imported_from: str | None = Field(
        default=None, max_length=REASON_MAX,
        description="the file and row it was imported from (cchc import); None when entered by "
                    "hand")


class MayBeImported(BaseModel):
    """A command an import may send: the event then says where it came from."""

    imported_from: str | None = Field(
        default=None, min_length=1, max_length=REASON_MAX,
        description="the file and row this command was imported from (admin and home_affairs "
                    "only): the event is marked as entered after the fact whatever its time",
    )


class MayBeEnteredLate(MayBeImported):
    """A command with a business time: admin and home_affairs may give one older than the entry
    window, with a reason the event keeps."""

    late_entry_reason: str | None = Field(
        default=None, max_length=REASON_MAX,
        description="why a business time older than the entry window is entered (admin and "
                    "home_affairs only; kept on the event)",
    )
