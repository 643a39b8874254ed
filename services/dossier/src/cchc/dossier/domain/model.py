"""The dossier aggregate: decide (state + command -> one event) and evolve (state + event).

The statutory clock: ``due_at`` is set on receipt, cleared while a supplement is awaited, and set
anew (the full statutory time again) on supplementation. An extension moves only the appointment
(``appointment_at``); timeliness is always judged against the statutory ``due_at``.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from enum import StrEnum

from cchc.contracts.dossier import (
    Channel,
    DossierEvent,
    DossierExtended,
    DossierReceived,
    DossierResolved,
    DossierSupplemented,
    DossierWithdrawn,
    Outcome,
    ResultReturned,
    SupplementRequested,
    Timeliness,
)
from cchc.contracts.dossier_commands import (
    ExtendDossier,
    ReceiveDossier,
    RequestSupplement,
    ResolveDossier,
    ReturnResult,
    SupplementDossier,
    WithdrawDossier,
)
from cchc.dossier.domain.calendar import WorkingCalendar, timeliness
from cchc.dossier.domain.errors import Conflict, InvalidCommand
from cchc.dossier.domain.reference import Procedure


class DossierStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    AWAITING_SUPPLEMENT = "awaiting_supplement"
    RESOLVED = "resolved"
    RETURNED = "returned"
    WITHDRAWN = "withdrawn"


OPEN = (DossierStatus.IN_PROGRESS, DossierStatus.AWAITING_SUPPLEMENT)


@dataclass(frozen=True)
class Dossier:
    id: str
    agency: str
    procedure: str
    channel: Channel
    status: DossierStatus
    received_at: datetime
    receipt_day: date
    processing_days: int
    due_at: datetime | None  # None while the clock is stopped (awaiting a supplement)
    appointment_at: datetime | None  # the promised date: due_at until an apology moves it
    last_event_at: datetime  # business time of the latest event: commands cannot go before it
    version: int
    resolved_at: datetime | None = None
    outcome: Outcome | None = None
    timeliness: Timeliness | None = None
    returned_at: datetime | None = None
    withdrawn_at: datetime | None = None
    supplement_requests: int = 0
    receipt_code: str | None = None  # None for dossiers received before codes existed


# --- invariants ---------------------------------------------------------------------------


def require_status(dossier: Dossier, allowed: Iterable[DossierStatus], action: str) -> None:
    if dossier.status not in tuple(allowed):
        raise Conflict(f"dossier is {dossier.status.value}; it cannot be {action}")


def require_not_before_last_event(dossier: Dossier, moment: datetime, field: str) -> None:
    if moment < dossier.last_event_at:
        raise InvalidCommand(
            f"{field} {moment.isoformat()} is before the dossier's last event "
            f"({dossier.last_event_at.isoformat()})",
            field=field,
        )


# --- decide -------------------------------------------------------------------------------


def receive(
    dossier_id: str, command: ReceiveDossier, procedure: Procedure, calendar: WorkingCalendar,
    receipt_code: str | None = None,
) -> DossierReceived:
    receipt_day = calendar.receipt_day(command.received_at)
    return DossierReceived(
        dossier_id=dossier_id, agency=procedure.agency, procedure=procedure.code,
        channel=command.channel, received_at=command.received_at, receipt_day=receipt_day,
        processing_days=procedure.processing_days,
        due_at=calendar.due_at(receipt_day, procedure.processing_days),
        applicant=command.applicant.model_dump(), receipt_code=receipt_code,
    )


def request_supplement(dossier: Dossier, command: RequestSupplement) -> SupplementRequested:
    require_status(dossier, [DossierStatus.IN_PROGRESS], "sent back for a supplement")
    require_not_before_last_event(dossier, command.requested_at, "requested_at")
    return SupplementRequested(requested_at=command.requested_at, reason=command.reason)


def supplement(
    dossier: Dossier, command: SupplementDossier, calendar: WorkingCalendar
) -> DossierSupplemented:
    require_status(dossier, [DossierStatus.AWAITING_SUPPLEMENT], "supplemented")
    require_not_before_last_event(dossier, command.supplemented_at, "supplemented_at")
    restart_day = calendar.receipt_day(command.supplemented_at)
    return DossierSupplemented(
        supplemented_at=command.supplemented_at, restart_day=restart_day,
        due_at=calendar.due_at(restart_day, dossier.processing_days),
    )


def extend(dossier: Dossier, command: ExtendDossier) -> DossierExtended:
    require_status(dossier, [DossierStatus.IN_PROGRESS], "extended")
    require_not_before_last_event(dossier, command.extended_at, "extended_at")
    if command.new_due_at <= command.extended_at:
        raise InvalidCommand("the new appointment must be after the apology", field="new_due_at")
    if dossier.appointment_at and command.new_due_at <= dossier.appointment_at:
        raise InvalidCommand(
            "the new appointment must be later than the current one", field="new_due_at"
        )
    return DossierExtended(
        extended_at=command.extended_at, new_due_at=command.new_due_at, reason=command.reason
    )


def resolve(dossier: Dossier, command: ResolveDossier) -> DossierResolved:
    require_status(dossier, [DossierStatus.IN_PROGRESS], "resolved")
    require_not_before_last_event(dossier, command.resolved_at, "resolved_at")
    reason = command.reason.strip()
    if command.outcome == Outcome.REJECTED and not reason:
        raise InvalidCommand("a rejection must give the applicant its reason", field="reason")
    assert dossier.due_at is not None  # in progress: the clock runs
    return DossierResolved(
        resolved_at=command.resolved_at, outcome=command.outcome, due_at=dossier.due_at,
        timeliness=timeliness(command.resolved_at, dossier.due_at), reason=reason,
    )


def return_result(dossier: Dossier, command: ReturnResult) -> ResultReturned:
    require_status(dossier, [DossierStatus.RESOLVED], "returned")
    require_not_before_last_event(dossier, command.returned_at, "returned_at")
    return ResultReturned(returned_at=command.returned_at)


def withdraw(dossier: Dossier, command: WithdrawDossier) -> DossierWithdrawn:
    require_status(dossier, OPEN, "withdrawn")
    require_not_before_last_event(dossier, command.withdrawn_at, "withdrawn_at")
    return DossierWithdrawn(withdrawn_at=command.withdrawn_at, reason=command.reason)


# --- evolve -------------------------------------------------------------------------------


def evolve(state: Dossier | None, event: DossierEvent) -> Dossier:
    if isinstance(event, DossierReceived):
        return Dossier(
            id=event.dossier_id, agency=event.agency, procedure=event.procedure,
            channel=event.channel, status=DossierStatus.IN_PROGRESS,
            received_at=event.received_at, receipt_day=event.receipt_day,
            processing_days=event.processing_days, due_at=event.due_at,
            appointment_at=event.due_at, last_event_at=event.received_at, version=1,
            receipt_code=event.receipt_code,
        )
    if state is None:
        raise ValueError(f"{event.event_type()} before DossierReceived")
    state = replace(state, version=state.version + 1)
    match event:
        case SupplementRequested():
            return replace(
                state, status=DossierStatus.AWAITING_SUPPLEMENT, due_at=None, appointment_at=None,
                supplement_requests=state.supplement_requests + 1, last_event_at=event.requested_at,
            )
        case DossierSupplemented():
            return replace(
                state, status=DossierStatus.IN_PROGRESS, due_at=event.due_at,
                appointment_at=event.due_at, last_event_at=event.supplemented_at,
            )
        case DossierExtended():
            return replace(state, appointment_at=event.new_due_at, last_event_at=event.extended_at)
        case DossierResolved():
            return replace(
                state, status=DossierStatus.RESOLVED, resolved_at=event.resolved_at,
                outcome=event.outcome, timeliness=event.timeliness,
                last_event_at=event.resolved_at,
            )
        case ResultReturned():
            return replace(
                state, status=DossierStatus.RETURNED, returned_at=event.returned_at,
                last_event_at=event.returned_at,
            )
        case DossierWithdrawn():
            return replace(
                state, status=DossierStatus.WITHDRAWN, withdrawn_at=event.withdrawn_at,
                last_event_at=event.withdrawn_at,
            )
    raise ValueError(f"a dossier does not take {event.event_type()}")


def replay(events: Iterable[DossierEvent]) -> Dossier | None:
    state: Dossier | None = None
    for event in events:
        state = evolve(state, event)
    return state
