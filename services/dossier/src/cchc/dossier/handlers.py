"""Command handlers of the dossier context: what differs per command, on the shared loop.

Each handler names the aggregate, who may, and the decision; ``CommandLoop`` loads, answers an
earlier delivery of the same idempotency key again, appends with the expected version and retries
a conflict. A command under an idempotency key gets a derived dossier id, so a retry finds the
same dossier instead of receiving it twice.
"""

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

from cchc.contracts.dossier import CalendarDayDeclared, DayKind, DossierReceived, business_time
from cchc.contracts.dossier_commands import (
    DeclareCalendarDay,
    ExtendDossier,
    PublishProcedure,
    ReceiveDossier,
    RegisterAgency,
    RequestSupplement,
    ResolveDossier,
    ReturnResult,
    SupplementDossier,
    WithdrawDossier,
)
from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.localtime import local_date
from cchc.contracts.messages import Principal, Reply, Request
from cchc.dossier import aggregates
from cchc.dossier.aggregates import CONTEXT
from cchc.dossier.domain import model, reference
from cchc.dossier.domain.calendar import WorkingCalendar
from cchc.dossier.domain.errors import Forbidden, InvalidCommand
from cchc.dossier.domain.model import Dossier
from cchc.dossier.domain.receipt_codes import is_receipt_code
from cchc.dossier.domain.reference import Agency, Procedure
from cchc.dossier.receipt_book import ReceiptBook
from cchc.dossier.views import dossier_summary, late_entry_summary
from cchc.runtime.command_loop import AggregateKind, CommandLoop
from cchc.runtime.entry_window import EntryWindow
from cchc.runtime.eventstore import EventStore
from cchc.runtime.followed_aggregate import FollowedAggregate
from cchc.runtime.ids import new_id


def _payload(_: Any, envelope: EventEnvelope) -> dict[str, Any]:
    """Reference data answers with what it recorded."""
    return dict(envelope.payload)


def _declared(state: dict[date, DayKind] | None, event: CalendarDayDeclared) -> dict[date, DayKind]:
    return {**(state or {}), event.date: event.kind}  # a later declaration replaces an earlier one


AGENCY = AggregateKind[Agency]("agency", reference.evolve_agency, _payload,
                               agency_of=lambda _, event: event.code)
PROCEDURE = AggregateKind[Procedure]("procedure", reference.evolve_procedure, _payload,
                                     business_time=business_time)
CALENDAR = AggregateKind[dict]("calendar", _declared, _payload,
                               agency_of=lambda *_: aggregates.CALENDAR_AGENCY)
DOSSIER = AggregateKind[Dossier](
    "dossier", model.evolve, lambda dossier, _: dossier_summary(dossier),
    business_time=business_time,
    agency_of=lambda dossier, event: dossier.agency if dossier else event.agency,
    envelope_facts=late_entry_summary,
)


# The id of the dossier a receipt code names (None: no such code), from the read model.
CodeLookup = Callable[[str], Awaitable[str | None]]


def provincial(what: str):  # type: ignore[no-untyped-def]
    def authorize(principal: Principal, _: Any) -> None:
        if not principal.writes_everywhere:
            raise Forbidden(f"only admin and home_affairs {what}")
    return authorize


def may_write_dossier(principal: Principal, dossier: Dossier) -> None:
    if not principal.may_write(dossier.agency):
        raise Forbidden(f"dossier {dossier.id} belongs to agency {dossier.agency}")


class DossierCommandHandlers:
    def __init__(
        self, store: EventStore, entry_window: EntryWindow | None = None,
        receipts: ReceiptBook | None = None, find_by_code: CodeLookup | None = None,
    ) -> None:
        self.store = store
        self.receipts = receipts or ReceiptBook(store)
        self.find_by_code = find_by_code
        self.loop = CommandLoop(store, CONTEXT, entry_window)
        self._procedures: dict[str, Procedure] = {}  # published procedures never change
        # Every receipt reads the calendar: kept in memory, current with the log.
        self.calendar = FollowedAggregate(store, CONTEXT, aggregates.CALENDAR_ID, CALENDAR)
        self._working_calendar: tuple[dict | None, WorkingCalendar] | None = None

    # --- reference data -------------------------------------------------------------------

    async def register_agency(self, request: Request[RegisterAgency]) -> Reply[dict[str, Any]]:
        """Register an agency (admin, home_affairs)."""
        command = request.body
        return await self.loop.create(
            request, AGENCY, aggregates.agency_id(command.code),
            lambda agency: reference.register_agency(agency, command),
            provincial("register agencies"),
        )

    async def publish_procedure(self, request: Request[PublishProcedure]) -> Reply[dict[str, Any]]:
        """Publish a procedure of an agency to the catalogue."""
        command = request.body
        if not request.meta.principal.may_write(command.agency):
            raise Forbidden(f"cannot publish procedures of agency {command.agency}")
        agency = AGENCY.state(await self.store.look_up(CONTEXT, aggregates.agency_id(command.agency)))
        published_at = _now()
        return await self.loop.create(
            request, PROCEDURE, aggregates.procedure_id(command.code),
            lambda existing: reference.publish_procedure(existing, agency, command, published_at),
        )

    async def declare_calendar_day(
        self, request: Request[DeclareCalendarDay]
    ) -> Reply[dict[str, Any]]:
        """Declare a day off or a swapped working day (admin, home_affairs)."""
        try:
            return await self.loop.record(
                request, CALENDAR, aggregates.CALENDAR_ID,
                lambda _: reference.declare_calendar_day(request.body),
                provincial("declare calendar days"),
            )
        finally:
            self.calendar.forget()  # the next receipt reads this declaration back

    # --- dossiers ---------------------------------------------------------------------------

    async def receive_dossier(self, request: Request[ReceiveDossier]) -> Reply[dict[str, Any]]:
        """Receive a citizen's dossier: its due date in working days."""
        command = request.body
        procedure = await self._published_procedure(command.procedure)
        if not request.meta.principal.may_write(procedure.agency):
            raise Forbidden(f"cannot receive dossiers for agency {procedure.agency}")
        keyed_id = aggregates.dossier_id(request.meta.idempotency_key)
        dossier_id = keyed_id or new_id()
        calendar = await self._calendar()

        async def decide(_: Any) -> DossierReceived:
            # Numbered only when it is decided: a retry answered from the log takes no number.
            code = await self.receipts.next_code(procedure.agency, local_date(command.received_at))
            return model.receive(dossier_id, command, procedure, calendar, code)

        return await self.loop.create(request, DOSSIER, dossier_id, decide,
                                      fresh_id=keyed_id is None)

    async def request_supplement(self, request: Request[RequestSupplement]) -> Reply[dict[str, Any]]:
        """Ask the applicant to supplement the dossier (its clock stops)."""
        calendar = await self._calendar()
        return await self._on_dossier(
            request, lambda d: model.request_supplement(d, request.body, calendar))

    async def supplement_dossier(self, request: Request[SupplementDossier]) -> Reply[dict[str, Any]]:
        """The applicant supplemented the dossier (its clock restarts)."""
        calendar = await self._calendar()
        return await self._on_dossier(request, lambda d: model.supplement(d, request.body, calendar))

    async def extend_dossier(self, request: Request[ExtendDossier]) -> Reply[dict[str, Any]]:
        """Extend the due date, with the apology's reason."""
        return await self._on_dossier(request, lambda d: model.extend(d, request.body))

    async def resolve_dossier(self, request: Request[ResolveDossier]) -> Reply[dict[str, Any]]:
        """Resolve the dossier (approved or rejected)."""
        return await self._on_dossier(request, lambda d: model.resolve(d, request.body))

    async def return_result(self, request: Request[ReturnResult]) -> Reply[dict[str, Any]]:
        """Return the result to the applicant."""
        return await self._on_dossier(request, lambda d: model.return_result(d, request.body))

    async def withdraw_dossier(self, request: Request[WithdrawDossier]) -> Reply[dict[str, Any]]:
        """The applicant withdrew the dossier."""
        return await self._on_dossier(request, lambda d: model.withdraw(d, request.body))

    async def _on_dossier(self, request: Request[Any], decide: Any) -> Reply[dict[str, Any]]:
        target = request.target
        if target and is_receipt_code(target) and self.find_by_code is not None:
            target = await self.find_by_code(target) or target  # unknown: "no dossier <code>"
        return await self.loop.change(request, DOSSIER, target, decide, may_write_dossier)

    # --- what the decisions read ------------------------------------------------------------

    async def _published_procedure(self, code: str) -> Procedure:
        if code not in self._procedures:
            history = await self.store.look_up(CONTEXT, aggregates.procedure_id(code))
            procedure = PROCEDURE.state(history)
            if procedure is None:
                raise InvalidCommand(f"unknown procedure {code!r}", field="procedure")
            self._procedures[code] = procedure
        return self._procedures[code]

    async def _calendar(self) -> WorkingCalendar:
        declared = await self.calendar.state()
        if self._working_calendar is None or self._working_calendar[0] is not declared:
            self._working_calendar = (declared, WorkingCalendar(declared or {}))
        return self._working_calendar[1]


def _now() -> datetime:
    return datetime.now(UTC)
