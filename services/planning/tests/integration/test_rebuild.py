"""A read model rebuilt from the log beside the live one holds the same rows."""

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from cchc.planning import tables
from cchc.planning.projections import PlanningReadModel
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine
from cchc.runtime.testing import create_database, drop_database


async def rows_of(engine, agency: str) -> dict[str, list]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        t = tables
        task_ids = select(t.tasks.c.id).where(t.tasks.c.agency == agency)
        return {
            "plans": (await conn.execute(select(t.plans).where(t.plans.c.agency == agency).order_by(t.plans.c.id))).all(),
            "tasks": (await conn.execute(select(t.tasks).where(t.tasks.c.agency == agency).order_by(t.tasks.c.id))).all(),
            "due_dates": (
                await conn.execute(
                    select(t.task_due_dates).where(t.task_due_dates.c.task_id.in_(task_ids))
                    .order_by(t.task_due_dates.c.position)
                )
            ).all(),
            "inspections": (await conn.execute(select(t.inspections).where(t.inspections.c.agency == agency))).all(),
            "findings": (
                await conn.execute(select(t.findings).where(t.findings.c.agency == agency).order_by(t.findings.c.position))
            ).all(),
        }


async def test_a_rebuild_into_a_second_database_equals_the_live_read_model(call, agency, nc, planning, db_url, tmp_path):
    plan = (await call.new_plan(agency)).result
    first = (await call.new_task(plan["id"])).result
    second = (await call.new_task(plan["id"], area="institutions")).result
    now = datetime.now(UTC).isoformat()
    await call.ok("report-progress", {"reported_at": now, "percent": 60, "note": "đã dự thảo"}, target=first["id"])
    await call.ok("complete-task", {"completed_at": now, "evidence": ["QĐ số 12"]}, target=first["id"])
    await call.ok(
        "reschedule-task", {"rescheduled_at": now, "new_due_date": "2027-03-31", "reason": "chờ luật mới"},
        target=second["id"],
    )
    inspection = await call.ok(
        "open-inspection", {"agency": agency, "inspected_on": "2026-07-15", "team_lead": "TĐ", "scope": "CCHC"}
    )
    last = await call.ok(
        "record-finding",
        {"kind": "shortcoming", "text": "Chậm", "remediation": {"title": "Khắc phục", "area": "direction", "due_date": "2026-12-31"}},
        target=inspection.result["id"],
    )
    # Wait for the remediation task too: the live model must have seen everything of the agency.
    for _ in range(100):
        listed = await call.ok("list-tasks", {"plan_id": plan["id"]}, min_position=last.position)
        if len(listed.result["items"]) == 3:
            break
        await asyncio.sleep(0.05)
    assert len(listed.result["items"]) == 3

    if db_url.startswith("sqlite"):
        second_url = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    else:
        server = db_url.rsplit("/", 1)[0] + "/postgres"
        second_url = await create_database(server)
    engine = create_engine(second_url)
    try:
        rebuild = ProjectionRunner(nc, engine, PlanningReadModel(), consumer_name=f"rebuild-{agency}")
        await rebuild.drop()
        reached = await rebuild.catch_up()
        assert await planning.runner.wait_for(reached, 5)
        assert await rows_of(engine, agency) == await rows_of(planning.engine, agency)
        assert len((await rows_of(engine, agency))["tasks"]) == 3
    finally:
        await engine.dispose()
        if not db_url.startswith("sqlite"):
            await drop_database(server, second_url)
