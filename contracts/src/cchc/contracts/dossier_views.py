"""What the dossier service answers: reference data, dossiers and the report form's statistics.

Times are ISO 8601 strings with an offset (a dossier's in +07:00), dates ISO calendar dates in
Asia/Ho_Chi_Minh, both as the service emits them. See ``cchc.contracts.pages`` for the rules.
"""

from typing import Any

from pydantic import ConfigDict, Field

from cchc.contracts.pages import Answer, Page, omissible

TIME = "ISO 8601 time with an offset"
DATE = "ISO 8601 date (YYYY-MM-DD), Asia/Ho_Chi_Minh"

# --- reference data ---------------------------------------------------------------------------


class RegisteredAgency(Answer):
    """``register-agency``: the AgencyRegistered event's payload."""

    code: str = Field(description="agency code")
    name: str = Field(description="agency name")
    group: str = Field(description="department, district or commune")


class AgencyItem(Answer):
    """An item of ``list-agencies``."""

    code: str = Field(description="agency code")
    name: str = Field(description="agency name")
    group: str = Field(description="department, district or commune")
    registered_at: str = Field(description=f"when it was registered; {TIME}")


class PublishedProcedure(Answer):
    """``publish-procedure``: the ProcedurePublished event's payload."""

    code: str = Field(description="procedure code")
    name: str = Field(description="procedure name")
    agency: str = Field(description="agency code")
    field: str = Field(description="field (lĩnh vực)")
    processing_days: int = Field(description="statutory time in working days")
    online_level: str = Field(description="full, partial or none")
    published_at: str = Field(description=f"when it was recorded; {TIME}")
    published_on: str | None = omissible(
        f"date of the publishing decision; {DATE}; absent from answers replayed from events "
        "written before it existed"
    )


class ProcedureItem(Answer):
    """An item of ``list-procedures``."""

    code: str = Field(description="procedure code")
    name: str = Field(description="procedure name")
    agency: str = Field(description="agency code")
    field: str = Field(description="field (lĩnh vực)")
    processing_days: int = Field(description="statutory time in working days")
    online_level: str = Field(description="full, partial or none")
    published_at: str = Field(description=f"when it was recorded; {TIME}")
    published_on: str = Field(description=f"date of the publishing decision; {DATE}")


class ProceduresPublished(Answer):
    """``procedures-published``: how many of an agency's procedures were published by a day."""

    agency: str = Field(description="agency code")
    as_of: str = Field(description=f"publishing decisions dated this day or earlier; {DATE}")
    published: int = Field(description="number of procedures")


class DeclaredCalendarDay(Answer):
    """``declare-calendar-day``: the CalendarDayDeclared event's payload."""

    date: str = Field(description=DATE)
    kind: str = Field(description="day_off or working_day")
    note: str = Field(description="the declaration's note")


# --- dossiers ---------------------------------------------------------------------------------


class DossierLateEntry(Answer):
    """A dossier's events entered after the fact."""

    events: int = Field(description="how many of its events were entered after the fact")
    reason: str = Field(description="the latest reason given for one (empty when none was)")


class EventLateEntry(Answer):
    """An event entered after the fact (its envelope's ``late_entry``)."""

    window_hours: float = Field(description="the entry window in force when it was recorded")
    reason: str = Field(description="the reason given with the command (empty when none)")
    imported_from: str | None = omissible(
        "the file and row it was imported from (cchc import); absent when entered by hand")



class DossierView(Answer):
    """A dossier as every dossier command answers it (times in +07:00)."""

    id: str = Field(description="dossier id")
    agency: str = Field(description="agency code")
    procedure: str = Field(description="procedure code")
    channel: str = Field(description="online, direct or postal")
    status: str = Field(
        description="in_progress, awaiting_supplement, resolved, returned or withdrawn"
    )
    received_at: str = Field(description=f"receipt time; {TIME}")
    receipt_day: str = Field(description=f"the day the clock counts from; {DATE}")
    due_at: str | None = Field(description=f"statutory due time, None while stopped; {TIME}")
    appointment_at: str | None = Field(description=f"appointment after an extension; {TIME}")
    resolved_at: str | None = Field(description=f"resolution time; {TIME}")
    returned_at: str | None = Field(description=f"result-return time; {TIME}")
    withdrawn_at: str | None = Field(description=f"withdrawal time; {TIME}")
    outcome: str | None = Field(description="approved or rejected, once resolved")
    timeliness: str | None = Field(description="early, on_time or late, once resolved")
    version: int = Field(description="the dossier's version (its ETag)")
    due_at_766: str | None = Field(description=(
        f"due time by Decision 766's clock (the supplementation period subtracted instead of "
        f"the statutory time restarted); None while a supplement is awaited and after a second "
        f"supplementation request; {TIME}"))
    timeliness_766: str | None = Field(description=(
        "early, on_time or late by Decision 766's clock, once resolved: more than one "
        "supplementation request is late"))
    supplement_requests: int = Field(description="supplementation requests made so far")
    irregular_supplement: bool = Field(description=(
        "a supplementation request came after the 3rd working day after receipt (Decree "
        "61/2018, art. 17)"))
    receipt_code: str | None = omissible(
        "the code on the receipt slip, <agency>-<YYMMDD>-<daily number>; it names the dossier "
        "wherever its id does; None for a dossier received before codes existed")
    late_entry: DossierLateEntry | None = omissible(
        "None unless some of its events were entered after the fact (a business time older than "
        "the entry window when recorded, by admin or home_affairs)")


class DossierListItem(DossierView):
    """An item of ``list-dossiers``: the view and the applicant."""

    applicant: dict[str, Any] = Field(description="the applicant's details as received")


class HistoryEntry(Answer):
    """One event of a dossier's history."""

    type: str = Field(description="event type, e.g. DossierReceived")
    version: int = Field(description="the dossier's version after it")
    position: int = Field(description="its position in the log")
    occurred_at: str = Field(description=f"business time; {TIME}")
    recorded_at: str = Field(description=f"when it was written; {TIME}")
    actor: str = Field(description="who caused it (token subject)")
    payload: dict[str, Any] = Field(description="the event's payload")
    late_entry: EventLateEntry | None = omissible(
        "present when it was entered after the fact: the entry window then in force and the "
        "reason given")


class DossierDetail(DossierListItem):
    """``get-dossier``: the view, the applicant and the history."""

    history: list[HistoryEntry] = Field(description="the dossier's events, oldest first")


class ReceiptSlip(DossierListItem):
    """``receipt-slip``: what the receipt slip prints, the view with the names it shows."""

    agency_name: str = Field(description="the agency's registered name")
    procedure_name: str = Field(description="the procedure's name")
    field: str = Field(description="the procedure's field (lĩnh vực)")


class PublicDossier(Answer):
    """``public-dossier``: what anyone holding the receipt code sees (no token)."""

    receipt_code: str = Field(description="the code on the receipt slip")
    agency: str = Field(description="agency code")
    agency_name: str = Field(description="the agency's name")
    procedure: str = Field(description="procedure code")
    procedure_name: str = Field(description="the procedure's name")
    status: str = Field(
        description="in_progress, awaiting_supplement, resolved, returned or withdrawn")
    received_at: str = Field(description=f"receipt time; {TIME}")
    due_at: str | None = Field(description=f"statutory due time, None while stopped; {TIME}")
    appointment_at: str | None = Field(description=f"the appointment for the result; {TIME}")
    resolved_at: str | None = Field(description=f"resolution time; {TIME}")
    outcome: str | None = Field(description="approved or rejected, once resolved")
    result_returned: bool = Field(description="the result was handed to the applicant")
    returned_at: str | None = Field(description=f"when it was handed over; {TIME}")
    applicant: str = Field(description="the applicant's name, masked: each word's first letter")


class PublicBoardItem(Answer):
    """One agency on the public board."""

    agency: str = Field(description="agency code")
    agency_name: str = Field(description="the agency's name")
    group: str = Field(description="department, district or commune")
    received: int = Field(description="received in the year so far (carried over included)")
    resolved: int = Field(description="resolved in the year so far")
    resolved_on_time: int = Field(description="of them early or on time")
    overdue: int = Field(description="open and past due today")
    on_time_rate: float | None = Field(description="(early + on_time) / resolved; None: none")


class PublicBoard(Answer):
    """``public-board``: each agency's figures of the year up to today (no token)."""

    year: int = Field(description="the year")
    as_of: str = Field(description=f"figures up to this day; {DATE}")
    items: list[PublicBoardItem] = Field(description="every registered agency, by code")


DossierPage = Page[DossierListItem]
AgencyPage = Page[AgencyItem]
ProcedurePage = Page[ProcedureItem]

# --- statistics (report form II.06a) ----------------------------------------------------------


class ReceivedCounts(Answer):
    total: int = Field(description="by channel plus carried over")
    online: int = Field(description="received online in the period")
    direct: int = Field(description="received at the desk in the period")
    postal: int = Field(description="received by post in the period")
    carried_over: int = Field(description="received before the period, still open at its start")


class ResolvedCounts(Answer):
    total: int = Field(description="resolved in the period")
    early: int = Field(description="resolved before the due date")
    on_time: int = Field(description="resolved on the due date")
    late: int = Field(description="resolved after the due date")


class InProgressCounts(Answer):
    total: int = Field(description="open at the end of the period")
    not_due: int = Field(description="open and not past due")
    overdue: int = Field(description="open and past due")


class AgencyDossierStats(Answer):
    """One agency's figures (an entry of ``by_agency``)."""

    received: ReceivedCounts = Field(description="received dossiers")
    resolved: ResolvedCounts = Field(description="resolved dossiers, by timeliness")
    in_progress: InProgressCounts = Field(description="dossiers open at the end of the period")
    withdrawn: int = Field(description="withdrawn in the period")
    on_time_rate: float | None = Field(
        description="(early + on_time) / resolved, 4 decimals; None when nothing was resolved"
    )
    late_entries: int = omissible(
        "dossier events dated in the period that were entered after the fact (older than the "
        "entry window when recorded): the figures they touch were not recorded when they "
        "happened", default=0)


class DossierStats(AgencyDossierStats):
    """``dossier-stats``: the report form for [from, to], judged as of the end of ``to``."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    agency: str | None = Field(description="agency code; None when summed over agencies")
    from_: str = Field(alias="from", description=f"first day of the period; {DATE}")
    to: str = Field(description=f"last day of the period; {DATE}")
    method: str = omissible(
        "the clock that judged timeliness: form (the report form's) or 766 (Decision 766's)",
        default="form")
    by_agency: dict[str, AgencyDossierStats] | None = omissible(
        "without an agency: each readable agency with any figure, by code"
    )
    by_field: dict[str, AgencyDossierStats] | None = omissible(
        "with an agency and by=field: each field (lĩnh vực) of its procedures with any figure"
    )


class DossierFieldStats(Answer):
    """``dossier-stats-by-field``: one agency's report form, a row per field of procedures."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)

    agency: str = Field(description="agency code")
    from_: str = Field(alias="from", description=f"first day of the period; {DATE}")
    to: str = Field(description=f"last day of the period; {DATE}")
    by_field: dict[str, AgencyDossierStats] = Field(
        description="each field (lĩnh vực) with any figure, by name; they add up to the agency's"
    )


# --- alerts -----------------------------------------------------------------------------------


class AlertItem(Answer):
    """A dossier an agency is warned about."""

    id: str = Field(description="dossier id")
    receipt_code: str | None = Field(
        description="the code on the receipt slip; None for a dossier received before them")
    procedure: str = Field(description="procedure code")
    procedure_name: str | None = Field(description="procedure name; None when not in the catalogue")
    applicant_name: str | None = Field(description="the applicant's name as received")
    received_at: str = Field(description=f"receipt time; {TIME}")
    due_at: str = Field(description=f"statutory due time; {TIME}")
    due_on: str = Field(description=f"statutory due date; {DATE}")
    appointment_at: str | None = Field(description=f"appointment after an extension; {TIME}")


class AgencyAlerts(Answer):
    """One agency's alerts on a day."""

    agency: str = Field(description="agency code")
    due_today: list[AlertItem] = Field(description="open dossiers due on the day")
    due_tomorrow: list[AlertItem] = Field(description="open dossiers due on the next working day")
    overdue: list[AlertItem] = Field(description="open dossiers due before the day")
    count: int = Field(description="due_today + due_tomorrow + overdue")


class Alerts(Answer):
    """``alerts``: each readable agency's dossiers due today and tomorrow, and its overdue ones."""

    day: str = Field(description=f"the day the alerts are for; {DATE}")
    working_day: bool = Field(description="whether the day is a working day")
    next_working_day: str = Field(description=f"the 'tomorrow' of due_tomorrow; {DATE}")
    count: int = Field(description="all the agencies' alerts")
    agencies: list[AgencyAlerts] = Field(
        description="each agency with an alert (or the one asked for), by code")
