"""Decision 766's overdue intervals in the daily counters, beside the form's (projections.py).

Same bookkeeping as the form's: +1 on the first day a dossier is overdue by 766, -1 on the day
that ends it (an interval that ends before it starts adds nothing). What differs is when:
- a first supplementation request stops the clock; the dossier stays overdue while it waits
  only if it already was on the request's day (Decision 766 takes the request as its end);
- a supplementation starts a new interval from the day after the 766 due date (the
  supplementation period subtracted), unless one is still running;
- a second request makes the dossier late by 766: overdue from that day until it closes.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Protocol

from cchc.dossier import tables
from cchc.dossier.domain.clock_766 import late_by_requests

OVERDUE_766 = tables.COUNTERS.index("overdue_766_delta")
_ONE_DAY = timedelta(days=1)


class Counts(Protocol):
    def count(self, agency: str, day: date, counter: int, delta: int = 1) -> None: ...


@dataclass
class Clock766:
    """A dossier's 766 clock as the counters need it."""

    supplement_requests: int = 0
    irregular_supplement: bool = False
    overdue_from: date | None = None  # the open 766 overdue interval's first day


def start_overdue(rows: Counts, agency: str, clock: Clock766, first_day: date) -> None:
    clock.overdue_from = first_day
    rows.count(agency, first_day, OVERDUE_766, +1)


def end_overdue(rows: Counts, agency: str, clock: Clock766, day: date) -> None:
    if clock.overdue_from is not None:
        rows.count(agency, max(clock.overdue_from, day), OVERDUE_766, -1)
        clock.overdue_from = None


def supplement_requested(rows: Counts, agency: str, clock: Clock766, received_on: date,
                         requested_on: date, irregular: bool) -> None:
    clock.supplement_requests += 1
    clock.irregular_supplement = clock.irregular_supplement or irregular
    if late_by_requests(clock.supplement_requests):
        late_from = max(requested_on, received_on)
        if clock.overdue_from is not None and clock.overdue_from > late_from:
            end_overdue(rows, agency, clock, late_from)  # it was to start later: now
        if clock.overdue_from is None:
            start_overdue(rows, agency, clock, late_from)
    elif clock.overdue_from is not None and clock.overdue_from > requested_on:
        end_overdue(rows, agency, clock, requested_on)  # not overdue yet: the clock stops


def supplemented(rows: Counts, agency: str, clock: Clock766, received_on: date,
                 supplemented_on: date, due_on_766: date) -> None:
    if clock.overdue_from is None and not late_by_requests(clock.supplement_requests):
        start_overdue(rows, agency, clock,
                      max(supplemented_on, due_on_766 + _ONE_DAY, received_on))
