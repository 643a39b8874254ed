"""Command handlers: load the aggregate from the log, decide, append with the expected version.

Each handler takes a ``Request`` (command body + caller) and answers a ``Reply``; domain errors
are raised and turned into problems by the subscriber. A command carrying an idempotency key gets
a derived event id (and derived ids for what it creates), so a retry finds its own earlier event
and answers it again instead of writing twice.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import decode_event
from cchc.contracts.messages import Principal, Reply, Request
from cchc.contracts.planning import PlanningEvent
from cchc.contracts.planning_commands import (
    AddTask,
    CancelTask,
    CompleteTask,
    IssuePlan,
    OpenInspection,
    RecordFinding,
    ReportProgress,
    RescheduleTask,
)
from cchc.contracts.subjects import is_token
from cchc.planning import aggregates
from cchc.planning.aggregates import CONTEXT
from cchc.planning.domain import model
from cchc.planning.domain.errors import Conflict, Forbidden, NotFound
from cchc.planning.views import finding_summary, inspection_summary, plan_summary, task_summary
from cchc.runtime.eventstore import (
    AggregateHistory,
    Appended,
    ConcurrencyConflict,
    EventStore,
    Metadata,
    command_metadata,
)
from cchc.runtime.ids import new_id
from cchc.runtime.rpc import ProblemError

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class AggregateKind:
    """How to rebuild one kind of aggregate and how a command on it is answered."""

    name: str
    evolve: Callable[[Any, PlanningEvent], Any]
    answer: Callable[[Any, EventEnvelope], dict[str, Any]]


def _inspection_answer(inspection: model.Inspection, envelope: EventEnvelope) -> dict[str, Any]:
    if envelope.type == "FindingRecorded":
        finding_id = envelope.payload["finding_id"]
        finding = next(f for f in inspection.findings if f.id == finding_id)
        return {**finding_summary(inspection, finding), "inspection_version": inspection.version}
    return inspection_summary(inspection)


PLAN = AggregateKind("plan", model.evolve_plan, lambda plan, _: plan_summary(plan))
TASK = AggregateKind("task", model.evolve_task, lambda task, _: task_summary(task))
INSPECTION = AggregateKind("inspection", model.evolve_inspection, _inspection_answer)


def events_of(history: AggregateHistory) -> list[PlanningEvent]:
    events = [decode_event(e.type, e.schema_version, e.payload) for e in history.envelopes]
    return events  # type: ignore[return-value]


def state_of(kind: AggregateKind, history: AggregateHistory) -> Any:
    return model.replay(kind.evolve, events_of(history))


def check_may_write(principal: Principal, agency: str) -> None:
    if not principal.may_write(agency):
        raise Forbidden(f"cannot write the plans of agency {agency}")


def check_may_inspect(principal: Principal, agency: str) -> None:
    # Inspections are the Department of Home Affairs' work; the inspector role only reads.
    if not principal.writes_everywhere:
        raise Forbidden("only home_affairs and admin open inspections and record findings")


class PlanningCommandHandlers:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    # --- plans and tasks --------------------------------------------------------------------

    async def issue_plan(self, request: Request) -> Reply:
        command = IssuePlan.model_validate(request.body)
        check_may_write(request.meta.principal, command.agency)
        plan_id = aggregates.plan_id(command.agency, command.year)
        history = await self.store.load(CONTEXT, plan_id)
        if (done := self._earlier_answer(request, history, PLAN)) is not None:
            return done
        issued_at = _command_time(command, "issued_at")
        event = model.issue_plan(state_of(PLAN, history), plan_id, command, issued_at)
        return await self._create(request, history, event, PLAN)

    async def add_task(self, request: Request) -> Reply:
        command = AddTask.model_validate(request.body)
        plan = state_of(PLAN, await self.store.load(CONTEXT, _target(request, "plan")))
        if plan is None:
            raise NotFound(f"no plan {request.target}")
        check_may_write(request.meta.principal, plan.agency)
        task_id = aggregates.task_id(request.meta.idempotency_key) or new_id()
        history = await self.store.load(CONTEXT, task_id)
        if (done := self._earlier_answer(request, history, TASK)) is not None:
            return done
        added_at = _command_time(command, "added_at")
        event = model.add_task(plan, state_of(TASK, history), task_id, command, added_at)
        return await self._create(request, history, event, TASK)

    async def report_progress(self, request: Request) -> Reply:
        command = ReportProgress.model_validate(request.body)
        return await self._on_existing(
            request, TASK, check_may_write, lambda task: model.report_progress(task, command)
        )

    async def complete_task(self, request: Request) -> Reply:
        command = CompleteTask.model_validate(request.body)
        return await self._on_existing(
            request, TASK, check_may_write, lambda task: model.complete_task(task, command)
        )

    async def cancel_task(self, request: Request) -> Reply:
        command = CancelTask.model_validate(request.body)
        return await self._on_existing(
            request, TASK, check_may_write, lambda task: model.cancel_task(task, command)
        )

    async def reschedule_task(self, request: Request) -> Reply:
        command = RescheduleTask.model_validate(request.body)
        return await self._on_existing(
            request, TASK, check_may_write, lambda task: model.reschedule_task(task, command)
        )

    # --- inspections ------------------------------------------------------------------------

    async def open_inspection(self, request: Request) -> Reply:
        command = OpenInspection.model_validate(request.body)
        check_may_inspect(request.meta.principal, command.agency)
        inspection_id = aggregates.inspection_id(request.meta.idempotency_key) or new_id()
        history = await self.store.load(CONTEXT, inspection_id)
        if (done := self._earlier_answer(request, history, INSPECTION)) is not None:
            return done
        event = model.open_inspection(state_of(INSPECTION, history), inspection_id, command)
        return await self._create(request, history, event, INSPECTION)

    async def record_finding(self, request: Request) -> Reply:
        command = RecordFinding.model_validate(request.body)
        finding_id = aggregates.finding_id(request.meta.idempotency_key) or new_id()
        recorded_at = _command_time(command, "recorded_at")
        return await self._on_existing(
            request, INSPECTION, check_may_inspect,
            lambda inspection: model.record_finding(inspection, finding_id, command, recorded_at),
        )

    # --- the shared cycle -------------------------------------------------------------------

    async def _on_existing(
        self, request: Request, kind: AggregateKind,
        authorize: Callable[[Principal, str], None], decide: Callable[[Any], PlanningEvent],
    ) -> Reply:
        target = _target(request, kind.name)
        expected = request.meta.expected_version
        for attempt in range(MAX_ATTEMPTS):
            history = await self.store.load(CONTEXT, target, consistent=attempt > 0)
            if (done := self._earlier_answer(request, history, kind)) is not None:
                return done
            state = state_of(kind, history)
            if state is None:
                raise NotFound(f"no {kind.name} {target}")
            authorize(request.meta.principal, state.agency)
            if expected is not None and expected != state.version:
                raise _stale(kind, f"is at version {state.version}, not {expected}")
            event = decide(state)
            try:
                appended = await self._append(request, history, event, state.agency)
            except ConcurrencyConflict:
                if expected is not None:
                    raise _stale(kind, "changed meanwhile") from None
                continue  # decide again on the fresh state: it may now forbid the command
            return self._reply(kind, history.followed_by(appended.envelope))
        raise Conflict(f"the {kind.name} kept changing; try again")

    async def _create(
        self, request: Request, history: AggregateHistory, event: PlanningEvent, kind: AggregateKind
    ) -> Reply:
        try:
            agency: str = event.agency  # type: ignore[attr-defined]  # every creation event has one
            appended = await self._append(request, history, event, agency)
        except ConcurrencyConflict:
            # Someone created the same aggregate meanwhile: our own retry, or a real twin.
            fresh = await self.store.load(CONTEXT, history.aggregate_id, consistent=True)
            if (done := self._earlier_answer(request, fresh, kind)) is not None:
                return done
            raise Conflict(f"the {kind.name} was created concurrently") from None
        return self._reply(kind, history.followed_by(appended.envelope))

    async def _append(
        self, request: Request, history: AggregateHistory, event: PlanningEvent, agency: str
    ) -> Appended:
        appended = await self.store.append(
            history, event, agency=agency, occurred_at=model.business_time(event),
            meta=self._metadata(request),
        )
        if appended.duplicate and appended.envelope.aggregate_id != history.aggregate_id:
            # JetStream de-duplicated us against another aggregate's event: the key was reused.
            raise Conflict("this idempotency key was already used for another command")
        return appended

    def _event_id(self, request: Request) -> str | None:
        return command_metadata(request.meta).event_id

    def _metadata(self, request: Request) -> Metadata:
        return command_metadata(request.meta)

    def _earlier_answer(
        self, request: Request, history: AggregateHistory, kind: AggregateKind
    ) -> Reply | None:
        """The reply to an earlier delivery of this same command, if it was stored."""
        event_id = self._event_id(request)
        if event_id is None:
            return None
        for index, envelope in enumerate(history.envelopes):
            if envelope.event_id == event_id:
                upto = AggregateHistory(
                    history.context, history.aggregate_id, history.envelopes[: index + 1]
                )
                return self._reply(kind, upto)
        return None

    def _reply(self, kind: AggregateKind, history: AggregateHistory) -> Reply:
        state = state_of(kind, history)
        assert state is not None
        return Reply(
            ok=True, result=kind.answer(state, history.envelopes[-1]), version=state.version,
            position=history.last_position,
        )


def _target(request: Request, name: str) -> str:
    # A target is one subject token; anything else ("*", "a.b") would widen the history filter.
    if not request.target:
        raise ProblemError(400, "Bad request", f"no {name} id")
    if not is_token(request.target):
        raise NotFound(f"no {name} {request.target}")
    return request.target


def _stale(kind: AggregateKind, detail: str) -> ProblemError:
    return ProblemError(412, "Precondition failed", f"the {kind.name} {detail}")


def _command_time(command: object, field: str) -> datetime:
    """The business time a command states, else now (the contract may add such fields later)."""
    return getattr(command, field, None) or datetime.now(UTC)
