"""Command handlers: load the aggregate from the log, decide, append with the expected version.

Each handler takes a ``Request`` (command body + caller) and answers a ``Reply``; domain errors
are raised and turned into problems by the subscriber. A command carrying an idempotency key gets
a derived event id (and a derived dossier id), so a retry finds its own earlier event and answers
it again instead of writing twice.
"""

from collections.abc import Callable
from datetime import UTC, datetime

from cchc.contracts.dossier import CalendarDayDeclared, DossierEvent, business_time
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
from cchc.contracts.events import decode_event
from cchc.contracts.messages import Principal, Reply, Request
from cchc.dossier import aggregates
from cchc.dossier.aggregates import CONTEXT
from cchc.dossier.domain import model, reference
from cchc.dossier.domain.calendar import WorkingCalendar
from cchc.dossier.domain.model import Dossier
from cchc.dossier.domain.reference import Agency, Procedure
from cchc.dossier.views import dossier_summary
from cchc.runtime.eventstore import (
    AggregateHistory,
    ConcurrencyConflict,
    EventStore,
    Metadata,
    command_metadata,
)
from cchc.runtime.ids import new_id
from cchc.runtime.rpc import ProblemError

MAX_ATTEMPTS = 3


def forbidden(detail: str) -> ProblemError:
    return ProblemError(403, "Forbidden", detail)


def events_of(history: AggregateHistory) -> list[DossierEvent]:
    return [decode_event(e.type, e.schema_version, e.payload) for e in history.envelopes]  # type: ignore[misc]


def dossier_of(history: AggregateHistory) -> Dossier | None:
    return model.replay(events_of(history))


def calendar_of(history: AggregateHistory) -> WorkingCalendar:
    declared = {}
    for event in events_of(history):
        assert isinstance(event, CalendarDayDeclared)
        declared[event.date] = event.kind  # a later declaration replaces an earlier one
    return WorkingCalendar(declared)


class DossierCommandHandlers:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._procedures: dict[str, Procedure] = {}  # published procedures never change

    # --- reference data -------------------------------------------------------------------

    async def register_agency(self, request: Request) -> Reply:
        command = RegisterAgency.model_validate(request.body)
        if not request.meta.principal.writes_everywhere:
            raise forbidden("only admin and home_affairs register agencies")
        history = await self.store.load(CONTEXT, aggregates.agency_id(command.code))
        if (done := self._earlier_answer(request, history)) is not None:
            return done
        event = reference.register_agency(self._agency(history), command)
        return await self._append_reference(request, history, event, command.code, _now())

    async def publish_procedure(self, request: Request) -> Reply:
        command = PublishProcedure.model_validate(request.body)
        if not request.meta.principal.may_write(command.agency):
            raise forbidden(f"cannot publish procedures of agency {command.agency}")
        history = await self.store.load(CONTEXT, aggregates.procedure_id(command.code))
        if (done := self._earlier_answer(request, history)) is not None:
            return done
        agency = self._agency(await self.store.load(CONTEXT, aggregates.agency_id(command.agency)))
        existing = self._procedure_of(history)
        published_at = _now()
        event = reference.publish_procedure(existing, agency, command, published_at)
        return await self._append_reference(request, history, event, command.agency, published_at)

    async def declare_calendar_day(self, request: Request) -> Reply:
        command = DeclareCalendarDay.model_validate(request.body)
        if not request.meta.principal.writes_everywhere:
            raise forbidden("only admin and home_affairs declare calendar days")
        for _ in range(MAX_ATTEMPTS):
            history = await self.store.load(CONTEXT, aggregates.CALENDAR_ID, consistent=_ != 0)
            if (done := self._earlier_answer(request, history)) is not None:
                return done
            event = reference.declare_calendar_day(command)
            try:
                return await self._append_reference(
                    request, history, event, aggregates.CALENDAR_AGENCY, _now()
                )
            except ProblemError as error:
                if error.problem.status != 409:
                    raise
        raise ProblemError(409, "Conflict", "the calendar kept changing; try again")

    # --- dossiers ---------------------------------------------------------------------------

    async def receive_dossier(self, request: Request) -> Reply:
        command = ReceiveDossier.model_validate(request.body)
        procedure = await self._published_procedure(command.procedure)
        if not request.meta.principal.may_write(procedure.agency):
            raise forbidden(f"cannot receive dossiers for agency {procedure.agency}")
        dossier_id = aggregates.dossier_id(request.meta.idempotency_key) or new_id()
        history = await self.store.load(CONTEXT, dossier_id)
        if (done := self._earlier_answer(request, history)) is not None:
            return done
        calendar = calendar_of(await self.store.load(CONTEXT, aggregates.CALENDAR_ID))
        event = model.receive(dossier_id, command, procedure, calendar)
        try:
            appended = await self.store.append(
                history, event, agency=event.agency, occurred_at=event.received_at,
                meta=self._metadata(request),
            )
        except ConcurrencyConflict:
            # Only a concurrent twin with the same idempotency key can hit a fresh id.
            fresh = await self.store.load(CONTEXT, dossier_id, consistent=True)
            if (done := self._earlier_answer(request, fresh)) is not None:
                return done
            raise ProblemError(409, "Conflict", "the dossier was created concurrently") from None
        return self._dossier_reply(history.followed_by(appended.envelope))

    async def request_supplement(self, request: Request) -> Reply:
        command = RequestSupplement.model_validate(request.body)
        return await self._on_dossier(request, lambda d: model.request_supplement(d, command))

    async def supplement_dossier(self, request: Request) -> Reply:
        command = SupplementDossier.model_validate(request.body)
        calendar = calendar_of(await self.store.load(CONTEXT, aggregates.CALENDAR_ID))
        return await self._on_dossier(request, lambda d: model.supplement(d, command, calendar))

    async def extend_dossier(self, request: Request) -> Reply:
        command = ExtendDossier.model_validate(request.body)
        return await self._on_dossier(request, lambda d: model.extend(d, command))

    async def resolve_dossier(self, request: Request) -> Reply:
        command = ResolveDossier.model_validate(request.body)
        return await self._on_dossier(request, lambda d: model.resolve(d, command))

    async def return_result(self, request: Request) -> Reply:
        command = ReturnResult.model_validate(request.body)
        return await self._on_dossier(request, lambda d: model.return_result(d, command))

    async def withdraw_dossier(self, request: Request) -> Reply:
        command = WithdrawDossier.model_validate(request.body)
        return await self._on_dossier(request, lambda d: model.withdraw(d, command))

    async def _on_dossier(self, request: Request, decide: Callable[[Dossier], DossierEvent]) -> Reply:
        if not request.target:
            raise ProblemError(400, "Bad request", "no dossier id")
        expected = request.meta.expected_version
        for attempt in range(MAX_ATTEMPTS):
            history = await self.store.load(CONTEXT, request.target, consistent=attempt > 0)
            if (done := self._earlier_answer(request, history)) is not None:
                return done
            dossier = dossier_of(history)
            check_may_write(request.meta.principal, dossier, request.target)
            assert dossier is not None
            if expected is not None and expected != dossier.version:
                raise ProblemError(
                    412, "Precondition failed",
                    f"the dossier is at version {dossier.version}, not {expected}",
                )
            event = decide(dossier)
            try:
                appended = await self.store.append(
                    history, event, agency=dossier.agency,
                    occurred_at=business_time(event) or _now(),
                    meta=self._metadata(request),
                )
            except ConcurrencyConflict:
                if expected is not None:
                    raise ProblemError(
                        412, "Precondition failed", "the dossier changed meanwhile"
                    ) from None
                continue  # decide again on the fresh state
            return self._dossier_reply(history.followed_by(appended.envelope))
        raise ProblemError(409, "Conflict", "the dossier kept changing; try again")

    # --- helpers ----------------------------------------------------------------------------

    async def _published_procedure(self, code: str) -> Procedure:
        if code not in self._procedures:
            procedure = self._procedure_of(await self.store.load(CONTEXT, aggregates.procedure_id(code)))
            if procedure is None:
                raise ProblemError(422, "Invalid command", f"unknown procedure {code!r}", "procedure")
            self._procedures[code] = procedure
        return self._procedures[code]

    @staticmethod
    def _agency(history: AggregateHistory) -> Agency | None:
        state = None
        for event in events_of(history):
            state = reference.evolve_agency(state, event)  # type: ignore[arg-type]
        return state

    @staticmethod
    def _procedure_of(history: AggregateHistory) -> Procedure | None:
        state = None
        for event in events_of(history):
            state = reference.evolve_procedure(state, event)  # type: ignore[arg-type]
        return state

    def _event_id(self, request: Request) -> str | None:
        return command_metadata(request.meta).event_id

    def _metadata(self, request: Request) -> Metadata:
        return command_metadata(request.meta)

    def _earlier_answer(self, request: Request, history: AggregateHistory) -> Reply | None:
        """The reply to an earlier delivery of this same command, if it was stored."""
        event_id = self._event_id(request)
        if event_id is None:
            return None
        for index, envelope in enumerate(history.envelopes):
            if envelope.event_id == event_id:
                upto = AggregateHistory(history.context, history.aggregate_id, history.envelopes[: index + 1])
                if envelope.type in aggregates.REFERENCE_EVENT_TYPES:
                    return _reference_reply(envelope)
                return self._dossier_reply(upto)
        return None

    async def _append_reference(
        self, request: Request, history: AggregateHistory, event: DossierEvent, agency: str,
        occurred_at: datetime,
    ) -> Reply:
        try:
            appended = await self.store.append(
                history, event, agency=agency, occurred_at=occurred_at, meta=self._metadata(request)
            )
        except ConcurrencyConflict:
            raise ProblemError(409, "Conflict", "it was registered concurrently") from None
        return _reference_reply(appended.envelope)

    def _dossier_reply(self, history: AggregateHistory) -> Reply:
        dossier = dossier_of(history)
        assert dossier is not None
        return Reply(
            ok=True, result=dossier_summary(dossier), version=dossier.version,
            position=history.last_position,
        )


def check_may_write(principal: Principal, dossier: Dossier | None, dossier_id: str) -> None:
    if dossier is None:
        raise ProblemError(404, "Not found", f"no dossier {dossier_id}")
    if not principal.may_write(dossier.agency):
        raise forbidden(f"dossier {dossier_id} belongs to agency {dossier.agency}")



def _reference_reply(envelope: EventEnvelope) -> Reply:
    return Reply(
        ok=True, result=dict(envelope.payload), version=envelope.aggregate_version,
        position=envelope.position,
    )


def _now() -> datetime:
    return datetime.now(UTC)
