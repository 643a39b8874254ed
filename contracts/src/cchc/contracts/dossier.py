"""Events of the dossier context: reference data (agencies, procedures, calendar) and dossiers.

Stream ``DOSSIER`` on ``cchc.dossier.>``. Times are aware datetimes (ISO 8601 with an offset),
dates are calendar dates in Asia/Ho_Chi_Minh.
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import AwareDatetime, Field

from cchc.contracts.events import Event, upcaster

CONTEXT = "dossier"


class AgencyGroup(StrEnum):
    DEPARTMENT = "department"
    DISTRICT = "district"
    COMMUNE = "commune"


class OnlineLevel(StrEnum):
    FULL = "full"
    PARTIAL = "partial"
    NONE = "none"


class Channel(StrEnum):
    ONLINE = "online"
    DIRECT = "direct"
    POSTAL = "postal"


class DayKind(StrEnum):
    DAY_OFF = "day_off"
    WORKING_DAY = "working_day"


class Outcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"


class Timeliness(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


class DossierEvent(Event, abstract=True):
    context = CONTEXT


class AgencyRegistered(DossierEvent):
    code: str
    name: str
    group: AgencyGroup


class ProcedurePublished(DossierEvent):
    code: str
    name: str
    agency: str
    field: str
    processing_days: int = Field(gt=0)
    online_level: OnlineLevel
    published_at: AwareDatetime  # when it was recorded
    # The date of the publishing decision; absent from events written before it existed, which
    # count as published on the local date of ``published_at``.
    published_on: date | None = None


class CalendarDayDeclared(DossierEvent):
    """A provincial or national declaration that overrides the statutory calendar."""

    date: date
    kind: DayKind
    note: str


class DossierReceived(DossierEvent):
    """v2 added ``receipt_code``: the readable code on the citizen's receipt slip, unique in the
    province; a v1 event reads as a dossier received before codes existed (None)."""

    schema_version = 2

    dossier_id: str
    agency: str
    procedure: str
    channel: Channel
    received_at: AwareDatetime
    receipt_day: date = Field(description="the day the clock counts from (day-of-receipt rule)")
    processing_days: int = Field(gt=0)
    due_at: AwareDatetime
    applicant: dict[str, Any]
    receipt_code: str | None = Field(
        default=None, description="<agency>-<YYMMDD of receipt>-<daily number, 4+ digits>",
        examples=["STTTT-220711-0001"])


@upcaster("DossierReceived", from_version=1)
def _received_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # Received before receipt codes existed: it has none.
    return {**payload, "receipt_code": payload.get("receipt_code")}


class SupplementRequested(DossierEvent):
    requested_at: AwareDatetime
    reason: str


class DossierSupplemented(DossierEvent):
    supplemented_at: AwareDatetime
    restart_day: date
    due_at: AwareDatetime


class DossierExtended(DossierEvent):
    """Apology letter and new appointment; the statutory due date does not move."""

    extended_at: AwareDatetime
    new_due_at: AwareDatetime
    reason: str


class DossierResolved(DossierEvent):
    """The decision on a dossier (approved or rejected), judged early, on time or late.

    v2 added ``reason``: what the applicant is told (a rejection must give one); a v1 event
    reads as an empty reason.
    """

    schema_version = 2

    resolved_at: AwareDatetime
    outcome: Outcome
    due_at: AwareDatetime
    timeliness: Timeliness
    reason: str = Field(default="", max_length=2000)


@upcaster("DossierResolved", from_version=1)
def _resolved_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    # A v1 resolution carried no reason: it reads as an empty one.
    return {**payload, "reason": payload.get("reason", "")}


class ResultReturned(DossierEvent):
    returned_at: AwareDatetime


class DossierWithdrawn(DossierEvent):
    withdrawn_at: AwareDatetime
    reason: str


class YearArchived(DossierEvent):
    """A closed year's finished dossiers left the stream for the installation's archive
    (``cchc archive create``): what left, and the digests any copy of the archive is checked
    against. Recorded on aggregate ``archive-<year>-<generation>`` of agency ``_province``."""

    year: int
    generation: int = Field(ge=1)
    events: int
    aggregates: int
    first_position: int
    last_position: int
    sha256: str = Field(description="of the archive's events object")
    segment_hash: str = Field(description="hash chain over the archived events in log order")
    heads_hash: str = Field(description="of every archived aggregate's chain head")


class YearRestored(DossierEvent):
    """An archived year's events were put back into the stream (``cchc archive restore``),
    each marked ``Cchc-Restored-From``."""

    year: int
    generation: int = Field(ge=1)
    events: int


def business_time(event: Event) -> datetime | None:
    """The moment a dossier-context event happened in the world (None for calendar facts)."""
    for name in (
        "received_at", "requested_at", "supplemented_at", "extended_at",
        "resolved_at", "returned_at", "withdrawn_at", "published_at",
    ):
        value = getattr(event, name, None)
        if value is not None:
            return value
    return None
