"""Reads of the scoring read model, scoped to what the caller may see.

Each handler waits, when asked (``min_position``), until the scoring projection has applied that
log position; an assessment read may also name positions of the DOSSIER and PLANNING streams
its auto criteria should reflect. Auto criteria of an open assessment are evaluated from the
metric values at the moment of the read.
"""

from datetime import UTC, date, datetime
from typing import Any

from cchc.contracts.localtime import local_date
from cchc.contracts.messages import NoBody, Reply, Request
from cchc.contracts.scoring import IndexKind
from cchc.contracts.scoring_commands import (
    AgencyIndexesQuery,
    AssessmentListQuery,
    AssessmentQuery,
    FrameworkListQuery,
    RankingsQuery,
)
from cchc.runtime.domain_errors import Forbidden, NotFound
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.reads import applied, caught_up, readable_agencies
from cchc.scoring import tables
from cchc.scoring.domain.evaluation import evaluate
from cchc.scoring.domain.ranking import competition_ranking
from cchc.scoring.metric_values import metric_values
from cchc.scoring.templates import framework_templates
from cchc.scoring.views import (
    assessment_from_row,
    assessment_summary,
    assessment_view,
    framework_from_row,
    framework_view,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine


class ScoringQueries:
    def __init__(
        self, engine: AsyncEngine, runner: ProjectionRunner, dossier_metrics: ProjectionRunner,
        planning_metrics: ProjectionRunner,
    ) -> None:
        self.engine = engine
        self.runner = runner
        self.dossier_metrics = dossier_metrics
        self.planning_metrics = planning_metrics

    # --- frameworks -------------------------------------------------------------------------

    async def get_framework(self, request: Request[NoBody]) -> Reply[Any]:
        """One index framework."""
        await caught_up(self.runner, request)
        f = tables.frameworks.c
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(tables.frameworks).where(f.code == request.target))).first()
        if row is None:
            raise NotFound(f"no framework {request.target}")
        return Reply(ok=True, result=framework_view(framework_from_row(row)))

    async def list_frameworks(self, request: Request[FrameworkListQuery]) -> Reply[Any]:
        """The index frameworks."""
        await caught_up(self.runner, request)
        query = request.body
        f = tables.frameworks.c
        conditions = []
        if query.index is not None:
            conditions.append(f.index == query.index.value)
        if query.year is not None:
            conditions.append(f.year == query.year)
        statement = select(tables.frameworks).where(*conditions).order_by(f.year.desc(), f.code)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        items = [framework_view(framework_from_row(r)) for r in rows]
        return Reply(ok=True, result={"items": items, "next_cursor": None})

    async def framework_templates(self, request: Request[NoBody]) -> Reply[Any]:
        """The built-in framework templates."""
        items = [t.model_dump(mode="json") for t in framework_templates()]
        return Reply(ok=True, result={"items": items, "next_cursor": None})

    # --- assessments ------------------------------------------------------------------------

    async def get_assessment(self, request: Request[AssessmentQuery]) -> Reply[Any]:
        """One assessment with its criteria."""
        await caught_up(self.runner, request)
        query = request.body
        await applied(self.dossier_metrics, query.dossier_position, "dossier_position",
                      "the dossier metrics")
        await applied(self.planning_metrics, query.planning_position, "planning_position",
                      "the planning metrics")
        a = tables.assessments.c
        async with self.engine.connect() as conn:
            row = (await conn.execute(select(tables.assessments).where(a.id == request.target))).first()
            if row is None:
                raise NotFound(f"no assessment {request.target}")
            if not request.meta.principal.may_read(row.agency):
                raise Forbidden(f"assessment of agency {row.agency}")
            framework = framework_from_row(
                (await conn.execute(
                    select(tables.frameworks).where(tables.frameworks.c.code == row.framework)
                )).one()
            )
            assessment = assessment_from_row(row)
            metrics = {} if assessment.finished else await metric_values(
                conn, assessment.agency, assessment.year
            )
        evaluation = evaluate(framework, assessment, metrics, datetime.now(UTC))
        return Reply(ok=True, result=assessment_view(framework, assessment, evaluation),
                     version=assessment.version)

    async def list_assessments(self, request: Request[AssessmentListQuery]) -> Reply[Any]:
        """The assessments."""
        await caught_up(self.runner, request)
        query = request.body
        agencies = readable_agencies(request.meta.principal, query.agency)
        a = tables.assessments.c
        conditions = []
        if agencies is not None:
            conditions.append(a.agency.in_(agencies))
        if query.framework is not None:
            conditions.append(a.framework == query.framework)
        statement = select(tables.assessments).where(*conditions).order_by(a.framework, a.agency)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        items = []
        for row in rows:
            summary = assessment_summary(assessment_from_row(row))
            summary["score"] = row.result["score"] if row.result else None
            items.append(summary)
        return Reply(ok=True, result={"items": items, "next_cursor": None})

    # --- results and rankings ---------------------------------------------------------------

    async def rankings(self, request: Request[RankingsQuery]) -> Reply[Any]:
        """The ranking of a published index in a year."""
        await caught_up(self.runner, request)
        query = request.body
        async with self.engine.connect() as conn:
            ranked = await ranking(conn, query.index, query.year, query.group, query.as_of)
        return Reply(ok=True, result={
            "index": query.index.value, "year": query.year, "group": query.group,
            "as_of": query.as_of.isoformat() if query.as_of else None, "of": len(ranked),
            "items": ranked,
        })

    async def agency_indexes(self, request: Request[AgencyIndexesQuery]) -> Reply[Any]:
        """An agency's latest published year of each index, with its rank."""
        """The agency's latest published year of each index, with its rank in its group."""
        await caught_up(self.runner, request)
        query = request.body
        readable_agencies(request.meta.principal, query.agency)
        as_of = query.as_of or local_date(datetime.now(UTC))
        r = tables.index_results.c
        items = []
        async with self.engine.connect() as conn:
            for index in IndexKind:
                year = (await conn.execute(
                    select(r.year).where(r.agency == query.agency, r.index == index.value,
                                         r.published_on <= as_of)
                    .order_by(r.year.desc()).limit(1)
                )).scalar_one_or_none()
                if year is None:
                    continue
                everyone = await ranking(conn, index, year, None, as_of)
                mine = next(item for item in everyone if item["agency"] == query.agency)
                of = sum(1 for item in everyone if item["group"] == mine["group"])
                items.append({"index": index.value, "year": year, "score": mine["score"],
                              "rank": mine["rank"], "of": of, "group": mine["group"]})
            name = (await conn.execute(
                select(tables.agencies.c.name).where(tables.agencies.c.code == query.agency)
            )).scalar_one_or_none()
        return Reply(ok=True, result={"agency": query.agency, "agency_name": name,
                                      "as_of": as_of.isoformat(), "items": items})


async def ranking(
    conn: AsyncConnection, index: IndexKind, year: int, group: str | None, as_of: date | None
) -> list[dict[str, Any]]:
    """The latest result of each agency published by ``as_of``, ranked within ``group``."""
    r = tables.index_results.c
    conditions = [r.index == index.value, r.year == year]
    if as_of is not None:
        conditions.append(r.published_on <= as_of)
    rows = (await conn.execute(
        select(tables.index_results).where(*conditions).order_by(r.position)
    )).all()
    latest = {row.agency: row for row in rows}  # later positions overwrite: corrections win
    registered = await _registered_groups(conn, list(latest))
    results = [
        {"agency": agency, "score": row.score,
         "group": row.group or registered.get(agency) or "unassigned", "source": row.source,
         "published_on": row.published_on.isoformat()}
        for agency, row in latest.items()
    ]
    if group is not None:
        return _ranked([item for item in results if item["group"] == group])
    # Without a group, each group is ranked on its own: a district is never ranked beside the
    # departments (DOMAIN: agencies are compared within their group).
    by_group: dict[str, list[dict[str, Any]]] = {}
    for item in results:
        by_group.setdefault(item["group"], []).append(item)
    return [item for name in sorted(by_group) for item in _ranked(by_group[name])]


def _ranked(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_agency = {item["agency"]: item for item in results}
    ranked = competition_ranking({item["agency"]: item["score"] for item in results})
    return [{**by_agency[r.agency], "rank": r.rank} for r in ranked]


async def _registered_groups(conn: AsyncConnection, agencies: list[str]) -> dict[str, str]:
    if not agencies:
        return {}
    g = tables.agencies.c
    rows = await conn.execute(select(g.code, g.group).where(g.code.in_(agencies)))
    return {code: group for code, group in rows}
