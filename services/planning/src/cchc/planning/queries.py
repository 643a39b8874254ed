"""Reads of the planning read model, scoped to what the caller may see.

Each handler waits, when asked (``min_position``), until the projection has applied that log
position, so a client reads its own writes.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc.contracts.messages import NoBody, Reply, Request
from cchc.planning.domain.errors import Forbidden, NotFound
from cchc.contracts.planning_commands import (
    PlanListQuery,
    PlanOfQuery,
    PlanProgressQuery,
    TaskListQuery,
)
from cchc.planning import aggregates
from cchc.planning import tables
from cchc.planning.domain.calendar import local_date
from cchc.planning.domain.progress import TaskFacts, plan_progress
from cchc.planning.views import (
    FINDING_ROW_FIELDS,
    INSPECTION_ROW_FIELDS,
    PLAN_ROW_FIELDS,
    TASK_ROW_FIELDS,
    row_view,
)
from cchc.runtime.pagination import decode_typed, encode_cursor
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.reads import caught_up, readable_agencies



def today() -> date:
    return local_date(datetime.now().astimezone())


class PlanningQueries:
    def __init__(self, engine: AsyncEngine, runner: ProjectionRunner) -> None:
        self.engine = engine
        self.runner = runner

    async def list_plans(self, request: Request[PlanListQuery]) -> Reply[dict[str, Any]]:
        """A page of plans by agency and year."""
        await caught_up(self.runner, request)
        query = request.body
        agencies = readable_agencies(request.meta.principal, query.agency)
        p = tables.plans.c
        conditions = []
        if agencies is not None:
            conditions.append(p.agency.in_(agencies))
        if query.year is not None:
            conditions.append(p.year == query.year)
        if query.cursor:
            agency, year = decode_typed(query.cursor, str, int)
            conditions.append(or_(p.agency > agency, and_(p.agency == agency, p.year < year)))
        statement = (
            select(tables.plans).where(*conditions)
            .order_by(p.agency, p.year.desc()).limit(query.limit + 1)
        )
        async with self.engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        page = rows[: query.limit]
        next_cursor = (
            encode_cursor([page[-1].agency, page[-1].year]) if len(rows) > query.limit else None
        )
        items = [row_view(r, PLAN_ROW_FIELDS) for r in page]
        return Reply(ok=True, result={"items": items, "next_cursor": next_cursor})

    async def get_plan(self, request: Request[NoBody]) -> Reply[dict[str, Any]]:
        """One plan with its tasks."""
        await caught_up(self.runner, request)
        async with self.engine.connect() as conn:
            plan = await self._readable_plan(conn, request)
            t = tables.tasks.c
            rows = await conn.execute(
                select(tables.tasks).where(t.plan_id == plan.id).order_by(t.due_date, t.id)
            )
            tasks = [row_view(r, TASK_ROW_FIELDS) for r in rows]
        return Reply(ok=True, result={**row_view(plan, PLAN_ROW_FIELDS), "tasks": tasks})

    async def plan_progress(self, request: Request[PlanProgressQuery]) -> Reply[dict[str, Any]]:
        """A plan's progress as of a date, by reform area."""
        await caught_up(self.runner, request)
        query = request.body
        as_of = query.as_of or today()
        async with self.engine.connect() as conn:
            plan = await self._readable_plan(conn, request)
            facts = await task_facts(conn, plan.id, as_of)
        progress = plan_progress(facts, as_of)
        return Reply(
            ok=True,
            result={"plan_id": plan.id, "agency": plan.agency, "year": plan.year, **progress},
        )

    async def plan_of(self, request: Request[PlanOfQuery]) -> Reply[dict[str, Any]]:
        """The progress of an agency's plan of a year as of a date; ``plan_id`` None if none."""
        await caught_up(self.runner, request)
        query = request.body
        readable_agencies(request.meta.principal, query.agency)
        as_of = query.as_of or today()
        plan_id = aggregates.plan_id(query.agency, query.year)
        async with self.engine.connect() as conn:
            plan = (await conn.execute(
                select(tables.plans).where(tables.plans.c.id == plan_id))).first()
            if plan is None:
                return Reply(ok=True, result={
                    "plan_id": None, "agency": query.agency, "year": query.year,
                    **plan_progress([], as_of)})
            facts = await task_facts(conn, plan.id, as_of)
        progress = plan_progress(facts, as_of)
        return Reply(ok=True, result={"plan_id": plan.id, "agency": plan.agency,
                                      "year": plan.year, **progress})

    async def list_tasks(self, request: Request[TaskListQuery]) -> Reply[dict[str, Any]]:
        """A page of tasks, by due date."""
        await caught_up(self.runner, request)
        query = request.body
        t = tables.tasks.c
        conditions = []
        async with self.engine.connect() as conn:
            if query.plan_id is not None:
                plan = await self._readable_plan(conn, request, query.plan_id)
                conditions.append(t.plan_id == plan.id)
            agencies = readable_agencies(request.meta.principal, query.agency)
            if agencies is not None:
                conditions.append(t.agency.in_(agencies))
            if query.status:
                conditions.append(t.status == query.status)
            if query.cursor:
                due, last_id = decode_typed(query.cursor, date, str)
                conditions.append(or_(t.due_date > due, and_(t.due_date == due, t.id > last_id)))
            statement = (
                select(tables.tasks).where(*conditions)
                .order_by(t.due_date, t.id).limit(query.limit + 1)
            )
            rows = (await conn.execute(statement)).all()
        page = rows[: query.limit]
        next_cursor = (
            encode_cursor([page[-1].due_date.isoformat(), page[-1].id])
            if len(rows) > query.limit else None
        )
        items = [row_view(r, TASK_ROW_FIELDS) for r in page]
        return Reply(ok=True, result={"items": items, "next_cursor": next_cursor})

    async def get_task(self, request: Request[NoBody]) -> Reply[dict[str, Any]]:
        """One task."""
        await caught_up(self.runner, request)
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(tables.tasks).where(tables.tasks.c.id == request.target))
            ).first()
        if row is None:
            raise NotFound(f"no task {request.target}")
        if not request.meta.principal.may_read(row.agency):
            raise Forbidden(f"task belongs to agency {row.agency}")
        return Reply(ok=True, result=row_view(row, TASK_ROW_FIELDS))

    async def get_inspection(self, request: Request[NoBody]) -> Reply[dict[str, Any]]:
        """One inspection with its findings."""
        await caught_up(self.runner, request)
        i, f = tables.inspections.c, tables.findings.c
        async with self.engine.connect() as conn:
            statement = select(tables.inspections).where(i.id == request.target)
            row = (await conn.execute(statement)).first()
            if row is None:
                raise NotFound(f"no inspection {request.target}")
            if not request.meta.principal.may_read(row.agency):
                raise Forbidden(f"inspection of agency {row.agency}")
            findings = await conn.execute(
                select(tables.findings).where(f.inspection_id == row.id).order_by(f.position)
            )
            items = [row_view(r, FINDING_ROW_FIELDS) for r in findings]
        return Reply(ok=True, result={**row_view(row, INSPECTION_ROW_FIELDS), "findings": items})

    async def _readable_plan(
        self, conn: AsyncConnection, request: Request, plan_id: str | None = None
    ) -> Any:
        plan_id = plan_id or request.target
        row = (await conn.execute(select(tables.plans).where(tables.plans.c.id == plan_id))).first()
        if row is None:
            raise NotFound(f"no plan {plan_id}")
        if not request.meta.principal.may_read(row.agency):
            raise Forbidden(f"plan belongs to agency {row.agency}")
        return row


async def task_facts(conn: AsyncConnection, plan_id: str, as_of: date) -> list[TaskFacts]:
    """The plan's tasks that existed by ``as_of``, with their due dates over time."""
    t, d = tables.tasks.c, tables.task_due_dates.c
    rows = (
        await conn.execute(select(tables.tasks).where(t.plan_id == plan_id, t.added_on <= as_of))
    ).all()
    due_rows = await conn.execute(
        select(d.task_id, d.valid_on, d.due_date)
        .where(d.plan_id == plan_id, d.valid_on <= as_of)
        .order_by(d.position)
    )
    due_dates: dict[str, list[tuple[date, date]]] = {}
    for due in due_rows:
        due_dates.setdefault(due.task_id, []).append((due.valid_on, due.due_date))
    return [
        TaskFacts(
            area=row.area, added_on=row.added_on,
            due_dates=tuple(due_dates.get(row.id) or [(row.added_on, row.due_date)]),
            completed_on=row.completed_on, on_time=row.on_time, cancelled_on=row.cancelled_on,
        )
        for row in rows
    ]
