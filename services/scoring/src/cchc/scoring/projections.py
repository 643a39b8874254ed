"""The scoring read model (SCORING stream) and the service's own metric projections (DOSSIER and
PLANNING streams). Each runs under its own ProjectionRunner, consumer and checkpoint.

SQL Core statements only, inside the runner's batch transaction: the same code on SQLite and
PostgreSQL, and a rebuild replays fast.
"""

from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import decode_event
from cchc.contracts.localtime import local_date
from cchc.runtime.sqldb import upsert
from cchc.scoring import tables
from sqlalchemy import case, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

Applier = Callable[[AsyncConnection, EventEnvelope, Any], Awaitable[None]]


class _Projection:
    appliers: ClassVar[dict[str, Applier]]

    async def apply(self, conn: AsyncConnection, envelope: EventEnvelope) -> None:
        applier = self.appliers.get(envelope.type)
        if applier is None:
            return  # a type this projection does not read
        event = decode_event(envelope.type, envelope.schema_version, envelope.payload)
        await applier(conn, envelope, event)


# --- the scoring read model -------------------------------------------------------------------


async def _framework_defined(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(insert(tables.frameworks).values(
        code=event.code, index=event.index.value, year=event.year, group=event.group,
        title=event.title, max_score=event.max_score, template=event.template,
        definition=event.model_dump(mode="json"), version=envelope.aggregate_version,
        position=envelope.position,
    ))


async def _assessment_opened(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(insert(tables.assessments).values(
        id=event.assessment_id, framework=event.framework, agency=event.agency,
        index=event.index.value, year=event.year, group=event.group, status="open",
        opened_at=event.opened_at, self_scores={}, evidence={}, appraised={},
        appraisal_notes=[], surveys={}, version=envelope.aggregate_version,
        position=envelope.position,
    ))


async def _assessment_row(conn: AsyncConnection, envelope: EventEnvelope) -> Any:
    a = tables.assessments.c
    return (await conn.execute(select(tables.assessments).where(a.id == envelope.aggregate_id))).one()


async def _self_scores(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    row = await _assessment_row(conn, envelope)
    await _set_assessment(conn, envelope, self_scores={**row.self_scores, **event.scores},
                          evidence={**row.evidence, **event.evidence})


async def _appraisal(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    row = await _assessment_row(conn, envelope)
    notes = [*row.appraisal_notes, event.notes] if event.notes else row.appraisal_notes
    await _set_assessment(conn, envelope, appraised={**row.appraised, **event.scores},
                          appraisal_notes=notes)


async def _survey(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    row = await _assessment_row(conn, envelope)
    surveys = {**row.surveys, event.criterion: event.model_dump(mode="json")}
    await _set_assessment(conn, envelope, surveys=surveys)


async def _finished(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    row = await _assessment_row(conn, envelope)
    await _set_assessment(conn, envelope, status="finished", finished_at=event.finished_at,
                          result=event.model_dump(mode="json"))
    await conn.execute(insert(tables.index_results).values(
        position=envelope.position, index=row.index, year=row.year, agency=row.agency,
        group=row.group, score=event.score, source="assessment", assessment_id=row.id,
        published_on=local_date(event.finished_at),
    ))


async def _index_result(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(insert(tables.index_results).values(
        position=envelope.position, index=event.index.value, year=event.year,
        agency=event.agency, group=event.group, score=event.score, source="index-result",
        published_on=event.published_on,
    ))


async def _set_assessment(conn: AsyncConnection, envelope: EventEnvelope, **values: Any) -> None:
    await conn.execute(
        update(tables.assessments).where(tables.assessments.c.id == envelope.aggregate_id)
        .values(version=envelope.aggregate_version, position=envelope.position, **values)
    )


class ScoringReadModel(_Projection):
    name = "scoring-read-v1"
    context = "scoring"
    metadata = tables.metadata
    appliers: ClassVar[dict[str, Applier]] = {
        "FrameworkDefined": _framework_defined,
        "AssessmentOpened": _assessment_opened,
        "SelfScoresSubmitted": _self_scores,
        "AppraisalRecorded": _appraisal,
        "SurveyRecorded": _survey,
        "AssessmentFinished": _finished,
        "IndexResultRecorded": _index_result,
    }


# --- metrics from the DOSSIER stream ----------------------------------------------------------


async def _agency_registered(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    # A registration stated again in the log (written straight to it) replaces the first.
    await conn.execute(upsert(conn, tables.agencies, ["code"]).values(
        code=event.code, name=event.name, group=event.group.value,
    ))


async def _procedure_published(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(insert(tables.metric_procedures).values(
        code=event.code, agency=event.agency, online_level=event.online_level.value,
        published_on=event.published_on or local_date(event.published_at),
    ))


async def _dossier_received(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    # The receipt day (day-of-receipt rule) decides the year, as in the report form.
    await conn.execute(insert(tables.metric_dossiers).values(
        id=event.dossier_id, agency=event.agency, received_year=event.receipt_day.year,
        channel=event.channel.value,
    ))


async def _supplement_requested(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    d = tables.metric_dossiers.c
    await conn.execute(update(tables.metric_dossiers).where(d.id == envelope.aggregate_id)
                       .values(supplement_requests=d.supplement_requests + 1))


async def _dossier_resolved(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    d = tables.metric_dossiers.c
    # A resolution recorded before Decision 766's clock existed carries no judgement by it: as
    # the dossier service reads it, late after more than one request, else the form's.
    timeliness_766 = event.timeliness_766 or case(
        (d.supplement_requests > 1, "late"), else_=event.timeliness.value)
    await conn.execute(
        update(tables.metric_dossiers).where(d.id == envelope.aggregate_id)
        .values(resolved_year=local_date(event.resolved_at).year,
                timeliness=event.timeliness.value, timeliness_766=timeliness_766)
    )


class DossierMetrics(_Projection):
    # v2: procedures' published_on; v3: dossiers' timeliness by Decision 766's clock
    name = "scoring-dossier-metrics-v3"
    context = "dossier"
    metadata = tables.dossier_metrics_metadata
    appliers: ClassVar[dict[str, Applier]] = {
        "AgencyRegistered": _agency_registered,
        "ProcedurePublished": _procedure_published,
        "DossierReceived": _dossier_received,
        "SupplementRequested": _supplement_requested,
        "DossierResolved": _dossier_resolved,
    }


# --- metrics from the PLANNING stream ---------------------------------------------------------


async def _task_added(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
    await conn.execute(insert(tables.metric_tasks).values(
        id=event.task_id, agency=event.agency, year=event.year, status="open",
        added_on=local_date(event.added_at),
    ))


def _set_task_status(status: str, moment: str) -> Applier:
    async def apply(conn: AsyncConnection, envelope: EventEnvelope, event: Any) -> None:
        await conn.execute(
            update(tables.metric_tasks).where(tables.metric_tasks.c.id == envelope.aggregate_id)
            .values(status=status, **{f"{status}_on": local_date(getattr(event, moment))})
        )

    return apply


class PlanningMetrics(_Projection):
    name = "scoring-planning-metrics-v2"  # v2: the tasks' dates
    context = "planning"
    metadata = tables.planning_metrics_metadata
    appliers: ClassVar[dict[str, Applier]] = {
        "TaskAdded": _task_added,
        "TaskCompleted": _set_task_status("completed", "completed_at"),
        "TaskCancelled": _set_task_status("cancelled", "cancelled_at"),
    }
