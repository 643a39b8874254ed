"""Decision 766's dossier clock, kept beside the report form's (calendar.py, model.py).

The report form restarts the statutory time in full when a dossier is supplemented. Decision
766/QĐ-TTg (indicator 2.1) instead subtracts the supplementation period from the elapsed working
time, and counts a dossier with more than one supplementation request as late. Working time is
counted in whole working days, with the form's own rules:
- the days that count are the working days after the receipt day (the receipt day itself does
  not count, as in the form);
- the request's day still counts (the agency held the dossier that day); the working days after
  it, up to and including the restart day (the supplementation's day of receipt, as the form
  computes it), do not;
- the dossier is due on the day its ``processing_days``-th counted working day falls, at 17:00,
  and is judged on calendar dates like the form (early, on time, late).
If the statutory time was used up by the request's day, the 766 due date is the original one.

Decree 61/2018, art. 17: a supplementation request must come within 3 working days of receipt;
a later one is irregular (the way a late dossier's clock gets restarted by the form).
"""

from datetime import date, datetime

from cchc.contracts.dossier import DossierResolved, Timeliness
from cchc.contracts.localtime import local_date
from cchc.dossier.domain.calendar import WorkingCalendar, timeliness

SUPPLEMENT_REQUEST_WORKING_DAYS = 3  # Decree 61/2018/NĐ-CP, art. 17
MAX_SUPPLEMENT_REQUESTS_766 = 1  # more than this many requests: late by Decision 766


def supplement_request_deadline(calendar: WorkingCalendar, receipt_day: date) -> date:
    """The last day a supplementation request is regular: the 3rd working day after receipt."""
    return calendar.nth_working_day_after(receipt_day, SUPPLEMENT_REQUEST_WORKING_DAYS)


def is_irregular_supplement_request(
    calendar: WorkingCalendar, receipt_day: date, requested_at: datetime
) -> bool:
    """A request dated after the 3rd working day after the receipt day."""
    return local_date(requested_at) > supplement_request_deadline(calendar, receipt_day)


def due_at_766(
    calendar: WorkingCalendar, receipt_day: date, processing_days: int,
    requested_at: datetime, restart_day: date,
) -> datetime:
    """The 766 due time after one supplementation: the working days used before the request
    count, the supplementation period does not, the rest of the statutory time follows it."""
    used = calendar.working_days_between(receipt_day, local_date(requested_at))
    if used >= processing_days:
        return calendar.due_at(receipt_day, processing_days)
    return calendar.due_at(restart_day, processing_days - used)


def late_by_requests(supplement_requests: int) -> bool:
    return supplement_requests > MAX_SUPPLEMENT_REQUESTS_766


def timeliness_766(
    resolved_at: datetime, due_at: datetime | None, supplement_requests: int
) -> Timeliness:
    """Early, on time or late by Decision 766: late with more than one request, else the
    resolution date against the 766 due date (which only the first case may lack)."""
    if late_by_requests(supplement_requests):
        return Timeliness.LATE
    if due_at is None:
        raise ValueError("a dossier with at most one supplementation request has a 766 due date")
    return timeliness(resolved_at, due_at)


def resolution_timeliness_766(resolution: DossierResolved, supplement_requests: int) -> Timeliness:
    """The 766 judgement of a resolution: the recorded one, or for a resolution written before
    the 766 clock existed, late with more than one request and else the form's (whose due
    time stands in for the 766 one: such a dossier's supplementation recorded none either)."""
    if resolution.timeliness_766 is not None:
        return resolution.timeliness_766
    return timeliness_766(resolution.resolved_at, resolution.due_at, supplement_requests)
