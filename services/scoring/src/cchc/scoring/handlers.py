"""Command handlers of the scoring context: what differs per command, on the shared loop.

Finishing an assessment reads the metric values from the service's own metric tables and freezes
them into the published result.
"""

from datetime import UTC, datetime
from typing import Any

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.localtime import local_date
from cchc.contracts.messages import Principal, Reply, Request
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
from cchc.runtime.command_loop import AggregateKind, CommandLoop
from cchc.runtime.entry_window import EntryWindow
from cchc.runtime.eventstore import EventStore
from cchc.scoring import aggregates
from cchc.scoring.aggregates import CONTEXT, FRAMEWORK_AGENCY
from cchc.scoring.domain import model
from cchc.scoring.domain.errors import Forbidden, NotFound
from cchc.scoring.domain.evaluation import evaluate
from cchc.scoring.metric_values import read_metric_values
from cchc.scoring.views import assessment_summary, framework_view
from sqlalchemy.ext.asyncio import AsyncEngine


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


FRAMEWORK = AggregateKind[model.Framework](
    "framework", model.evolve_framework, lambda framework, _: framework_view(framework),
    model.business_time, agency_of=lambda *_: FRAMEWORK_AGENCY)
ASSESSMENT = AggregateKind[model.Assessment](
    "assessment", model.evolve_assessment, _assessment_answer, model.business_time,
    agency_of=lambda assessment, event: assessment.agency if assessment else event.agency)
INDEX_RESULT = AggregateKind[IndexResultRecorded](
    "index result", _latest_result, _index_result_answer, model.business_time)


def provincial(what: str):  # type: ignore[no-untyped-def]
    # Frameworks, appraisal, surveys and results are the Department of Home Affairs' work.
    def authorize(principal: Principal, _: Any = None) -> None:
        if not principal.writes_everywhere:
            raise Forbidden(f"only home_affairs and admin {what}")
    return authorize


def may_write(principal: Principal, agency: str) -> None:
    if not principal.may_write(agency):
        raise Forbidden(f"cannot write the assessments of agency {agency}")


def may_write_assessment(principal: Principal, assessment: model.Assessment) -> None:
    may_write(principal, assessment.agency)


class ScoringCommandHandlers:
    def __init__(
        self, store: EventStore, engine: AsyncEngine, entry_window: EntryWindow | None = None
    ) -> None:
        self.store = store
        self.engine = engine
        self.loop = CommandLoop(store, CONTEXT, entry_window)

    async def define_framework(self, request: Request[DefineFramework]) -> Reply[dict[str, Any]]:
        """Define an index framework: criteria, points, bands (home_affairs, admin)."""
        command = request.body
        return await self.loop.create(
            request, FRAMEWORK, aggregates.framework_id(command.code),
            lambda framework: model.define_framework(framework, command, _now()),
            provincial("define index frameworks"),
        )

    async def open_assessment(self, request: Request[OpenAssessment]) -> Reply[dict[str, Any]]:
        """Open an agency's assessment under a framework."""
        command = request.body
        may_write(request.meta.principal, command.agency)
        framework = await self._framework(command.framework)
        assessment_id = aggregates.assessment_id(command.framework, command.agency)
        return await self.loop.create(
            request, ASSESSMENT, assessment_id,
            lambda assessment: model.open_assessment(
                assessment, framework, assessment_id, command, command.opened_at or _now()),
        )

    async def submit_self_scores(self, request: Request[SubmitSelfScores]) -> Reply[dict[str, Any]]:
        """The agency's self-assessed scores."""
        command = request.body
        return await self._on_assessment(
            request, may_write_assessment,
            lambda a, f: model.submit_self_scores(a, f, command, command.submitted_at or _now()),
        )

    async def record_appraisal(self, request: Request[RecordAppraisal]) -> Reply[dict[str, Any]]:
        """The appraisal council's scores (home_affairs, admin)."""
        command = request.body
        return await self._on_assessment(
            request, provincial("record appraisals"),
            lambda a, f: model.record_appraisal(a, f, command, command.recorded_at or _now()),
        )

    async def record_survey(self, request: Request[RecordSurvey]) -> Reply[dict[str, Any]]:
        """Survey results (SIPAS) for the assessment's survey criteria (home_affairs, admin)."""
        command = request.body
        return await self._on_assessment(
            request, provincial("record surveys"),
            lambda a, f: model.record_survey(a, f, command, command.recorded_at or _now()),
        )

    async def finish_assessment(self, request: Request[FinishAssessment]) -> Reply[dict[str, Any]]:
        """Finish an assessment: automatic criteria from the metrics, frozen into the result."""
        finished_at = request.body.finished_at or _now()

        async def decide(assessment: model.Assessment, framework: model.Framework) -> Any:
            metrics = await read_metric_values(self.engine, assessment.agency, assessment.year)
            return model.finish_assessment(
                assessment, evaluate(framework, assessment, metrics, finished_at)
            )

        return await self._on_assessment(request, provincial("finish assessments"), decide)

    async def record_index_result(
        self, request: Request[RecordIndexResult]
    ) -> Reply[dict[str, Any]]:
        """A published index result of an agency (a later one corrects it)."""
        command = request.body
        now = _now()
        event = IndexResultRecorded(
            index=command.index, year=command.year, agency=command.agency, score=command.score,
            group=command.group, published_on=command.published_on or local_date(now),
            recorded_at=now,
        )
        return await self.loop.record(
            request, INDEX_RESULT,
            aggregates.index_result_id(command.index.value, command.year, command.agency),
            lambda _: event, provincial("record published index results"),
        )

    # --- what the decisions read ------------------------------------------------------------

    async def _framework(self, code: str) -> model.Framework | None:
        return FRAMEWORK.state(await self.store.look_up(CONTEXT, aggregates.framework_id(code)))

    async def _on_assessment(self, request: Request[Any], authorize: Any, decide: Any) -> Reply[Any]:
        async def with_framework(assessment: model.Assessment) -> Any:
            framework = await self._framework(assessment.framework)
            if framework is None:
                raise NotFound(f"no framework {assessment.framework}")
            decided = decide(assessment, framework)
            return await decided if hasattr(decided, "__await__") else decided

        return await self.loop.change(request, ASSESSMENT, request.target, with_framework, authorize)


def _now() -> datetime:
    return datetime.now(UTC)
