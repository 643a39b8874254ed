"""Command handlers: load the aggregate from the log, decide, append with the expected version.

A command under an idempotency key gets a derived event id, so a retry finds its own earlier
event and answers it again instead of writing twice. Finishing an assessment reads the metric
values from the service's own metric tables and freezes them into the published result.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import decode_event
from cchc.contracts.localtime import local_date
from cchc.contracts.messages import FieldError, Principal, Reply, Request
from cchc.contracts.scoring import IndexResultRecorded, ScoringEvent
from cchc.contracts.scoring_commands import (
    DefineFramework,
    FinishAssessment,
    OpenAssessment,
    RecordAppraisal,
    RecordIndexResult,
    RecordSurvey,
    SubmitSelfScores,
)
from cchc.contracts.subjects import is_token
from cchc.runtime.eventstore import (
    AggregateHistory,
    Appended,
    ConcurrencyConflict,
    EventStore,
    command_metadata,
)
from cchc.runtime.rpc import ProblemError
from cchc.scoring import aggregates
from cchc.scoring.aggregates import CONTEXT, FRAMEWORK_AGENCY
from cchc.scoring.domain import model
from cchc.scoring.domain.errors import Conflict, Forbidden, NotFound
from cchc.scoring.domain.evaluation import evaluate
from cchc.scoring.metric_values import read_metric_values
from cchc.scoring.views import assessment_summary, framework_view
from sqlalchemy.ext.asyncio import AsyncEngine

MAX_ATTEMPTS = 3


@dataclass(frozen=True)
class AggregateKind:
    name: str
    evolve: Callable[[Any, ScoringEvent], Any]
    answer: Callable[[Any, EventEnvelope], dict[str, Any]]


def _assessment_answer(assessment: model.Assessment, envelope: EventEnvelope) -> dict[str, Any]:
    answer = assessment_summary(assessment)
    if assessment.finished is not None:
        result = assessment.finished
        answer.update(score=result.score, max_score=result.max_score, percent=result.percent)
    return answer


def _index_result_answer(result: IndexResultRecorded, envelope: EventEnvelope) -> dict[str, Any]:
    return {"id": envelope.aggregate_id, **result.model_dump(mode="json")}


def _latest_result(state: Any, event: ScoringEvent) -> Any:
    return event  # a correction replaces the result as a whole


FRAMEWORK = AggregateKind("framework", model.evolve_framework, lambda f, _: framework_view(f))
ASSESSMENT = AggregateKind("assessment", model.evolve_assessment, _assessment_answer)
INDEX_RESULT = AggregateKind("index result", _latest_result, _index_result_answer)


def state_of(kind: AggregateKind, history: AggregateHistory) -> Any:
    events = [decode_event(e.type, e.schema_version, e.payload) for e in history.envelopes]
    return model.replay(kind.evolve, events)  # type: ignore[arg-type]


def check_provincial(principal: Principal, what: str) -> None:
    # Frameworks, appraisal, surveys and results are the Department of Home Affairs' work.
    if not principal.writes_everywhere:
        raise Forbidden(f"only home_affairs and admin {what}")


def check_may_write(principal: Principal, agency: str) -> None:
    if not principal.may_write(agency):
        raise Forbidden(f"cannot write the assessments of agency {agency}")


class ScoringCommandHandlers:
    def __init__(self, store: EventStore, engine: AsyncEngine) -> None:
        self.store = store
        self.engine = engine

    async def define_framework(self, request: Request) -> Reply:
        command = DefineFramework.model_validate(request.body)
        check_provincial(request.meta.principal, "define index frameworks")
        history = await self.store.load(CONTEXT, aggregates.framework_id(command.code))
        if (done := self._earlier_answer(request, history, FRAMEWORK)) is not None:
            return done
        try:
            event = model.define_framework(state_of(FRAMEWORK, history), command, _now())
        except model.InvalidFramework as error:
            raise _every_field(error) from None
        return await self._create(request, history, event, FRAMEWORK_AGENCY, FRAMEWORK)

    async def open_assessment(self, request: Request) -> Reply:
        command = OpenAssessment.model_validate(request.body)
        check_may_write(request.meta.principal, command.agency)
        framework = await self._framework(command.framework)
        history = await self.store.load(
            CONTEXT, aggregates.assessment_id(command.framework, command.agency)
        )
        if (done := self._earlier_answer(request, history, ASSESSMENT)) is not None:
            return done
        event = model.open_assessment(
            state_of(ASSESSMENT, history), framework, history.aggregate_id, command,
            command.opened_at or _now(),
        )
        return await self._create(request, history, event, command.agency, ASSESSMENT)

    async def submit_self_scores(self, request: Request) -> Reply:
        command = SubmitSelfScores.model_validate(request.body)
        return await self._on_assessment(
            request, check_may_write,
            lambda a, f: model.submit_self_scores(a, f, command, command.submitted_at or _now()),
        )

    async def record_appraisal(self, request: Request) -> Reply:
        command = RecordAppraisal.model_validate(request.body)
        return await self._on_assessment(
            request, lambda p, _: check_provincial(p, "record appraisals"),
            lambda a, f: model.record_appraisal(a, f, command, command.recorded_at or _now()),
        )

    async def record_survey(self, request: Request) -> Reply:
        command = RecordSurvey.model_validate(request.body)
        return await self._on_assessment(
            request, lambda p, _: check_provincial(p, "record surveys"),
            lambda a, f: model.record_survey(a, f, command, command.recorded_at or _now()),
        )

    async def finish_assessment(self, request: Request) -> Reply:
        command = FinishAssessment.model_validate(request.body)
        finished_at = command.finished_at or _now()
        metrics: dict[str, Any] = {}

        async def decide(assessment: model.Assessment, framework: model.Framework) -> Any:
            metrics.update(await read_metric_values(self.engine, assessment.agency, assessment.year))
            return model.finish_assessment(
                assessment, evaluate(framework, assessment, metrics, finished_at)
            )

        return await self._on_assessment(
            request, lambda p, _: check_provincial(p, "finish assessments"), decide
        )

    async def record_index_result(self, request: Request) -> Reply:
        command = RecordIndexResult.model_validate(request.body)
        check_provincial(request.meta.principal, "record published index results")
        target = aggregates.index_result_id(command.index.value, command.year, command.agency)
        now = _now()
        event = IndexResultRecorded(
            index=command.index, year=command.year, agency=command.agency, score=command.score,
            group=command.group, published_on=command.published_on or local_date(now),
            recorded_at=now,
        )
        for attempt in range(MAX_ATTEMPTS):
            history = await self.store.load(CONTEXT, target, consistent=attempt > 0)
            if (done := self._earlier_answer(request, history, INDEX_RESULT)) is not None:
                return done
            try:
                appended = await self._append(request, history, event, command.agency)
            except ConcurrencyConflict:
                continue  # another correction got in first: ours is the later one
            return self._reply(INDEX_RESULT, history.followed_by(appended.envelope))
        raise Conflict("the index result kept changing; try again")

    # --- the shared cycle -------------------------------------------------------------------

    async def _framework(self, code: str) -> model.Framework | None:
        return state_of(FRAMEWORK, await self.store.load(CONTEXT, aggregates.framework_id(code)))

    async def _on_assessment(
        self, request: Request, authorize: Callable[[Principal, str], None],
        decide: Callable[[model.Assessment, model.Framework], Any],
    ) -> Reply:
        target = _target(request)
        expected = request.meta.expected_version
        for attempt in range(MAX_ATTEMPTS):
            history = await self.store.load(CONTEXT, target, consistent=attempt > 0)
            if (done := self._earlier_answer(request, history, ASSESSMENT)) is not None:
                return done
            assessment = state_of(ASSESSMENT, history)
            if assessment is None:
                raise NotFound(f"no assessment {target}")
            authorize(request.meta.principal, assessment.agency)
            if expected is not None and expected != assessment.version:
                raise _stale(f"is at version {assessment.version}, not {expected}")
            framework = await self._framework(assessment.framework)
            assert framework is not None  # an assessment is opened only under a framework
            event = decide(assessment, framework)
            if hasattr(event, "__await__"):
                event = await event
            try:
                appended = await self._append(request, history, event, assessment.agency)
            except ConcurrencyConflict:
                if expected is not None:
                    raise _stale("changed meanwhile") from None
                continue
            return self._reply(ASSESSMENT, history.followed_by(appended.envelope))
        raise Conflict("the assessment kept changing; try again")

    async def _create(
        self, request: Request, history: AggregateHistory, event: ScoringEvent, agency: str,
        kind: AggregateKind,
    ) -> Reply:
        try:
            appended = await self._append(request, history, event, agency)
        except ConcurrencyConflict:
            fresh = await self.store.load(CONTEXT, history.aggregate_id, consistent=True)
            if (done := self._earlier_answer(request, fresh, kind)) is not None:
                return done
            raise Conflict(f"the {kind.name} was created concurrently") from None
        return self._reply(kind, history.followed_by(appended.envelope))

    async def _append(
        self, request: Request, history: AggregateHistory, event: ScoringEvent, agency: str
    ) -> Appended:
        appended = await self.store.append(
            history, event, agency=agency, occurred_at=model.business_time(event),
            meta=command_metadata(request.meta),
        )
        if appended.duplicate and appended.envelope.aggregate_id != history.aggregate_id:
            raise Conflict("this idempotency key was already used for another command")
        return appended

    def _earlier_answer(
        self, request: Request, history: AggregateHistory, kind: AggregateKind
    ) -> Reply | None:
        event_id = command_metadata(request.meta).event_id
        if event_id is None:
            return None
        for index, envelope in enumerate(history.envelopes):
            if envelope.event_id == event_id:
                upto = AggregateHistory(CONTEXT, history.aggregate_id, history.envelopes[: index + 1])
                return self._reply(kind, upto)
        return None

    def _reply(self, kind: AggregateKind, history: AggregateHistory) -> Reply:
        state = state_of(kind, history)
        return Reply(ok=True, result=kind.answer(state, history.envelopes[-1]),
                     version=history.version, position=history.last_position)


def _target(request: Request) -> str:
    if not request.target:
        raise ProblemError(400, "Bad request", "no assessment id")
    if not is_token(request.target):
        raise NotFound(f"no assessment {request.target}")
    return request.target


def _stale(detail: str) -> ProblemError:
    return ProblemError(412, "Precondition failed", f"the assessment {detail}")


def _every_field(error: model.InvalidFramework) -> ProblemError:
    problem = ProblemError(422, "Invalid input", "the framework breaks its rules")
    problem.problem.errors = [FieldError(field=f, message=m) for f, m in error.problems]
    problem.problem.detail = "; ".join(f"{f}: {m}" for f, m in error.problems)
    return problem


def _now() -> datetime:
    return datetime.now(UTC)
