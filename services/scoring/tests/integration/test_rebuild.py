"""The scoring read model and its metric tables rebuilt from the log beside the live ones hold
the same rows."""

from datetime import date

from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine
from cchc.runtime.testing import create_database, drop_database
from cchc.scoring import tables
from cchc.scoring.projections import DossierMetrics, PlanningMetrics, ScoringReadModel
from sqlalchemy import select


async def rows_of(engine, agency: str, framework: str) -> dict[str, list]:  # type: ignore[no-untyped-def]
    t = tables
    async with engine.connect() as conn:
        async def rows(table, *where):  # type: ignore[no-untyped-def]
            key = next(iter(table.primary_key.columns))
            return (await conn.execute(select(table).where(*where).order_by(key))).all()

        return {
            "frameworks": await rows(t.frameworks, t.frameworks.c.code == framework),
            "assessments": await rows(t.assessments, t.assessments.c.agency == agency),
            "results": await rows(t.index_results, t.index_results.c.agency == agency),
            "dossiers": await rows(t.metric_dossiers, t.metric_dossiers.c.agency == agency),
            "procedures": await rows(t.metric_procedures, t.metric_procedures.c.agency == agency),
            "agencies": await rows(t.agencies, t.agencies.c.code == agency),
            "tasks": await rows(t.metric_tasks, t.metric_tasks.c.agency == agency),
        }


async def test_a_rebuild_into_a_second_database_equals_the_live_read_model(
    call, log, nc, scoring, agency, framework_body, db_url, tmp_path
):
    code = f"PAR-{agency}"
    await call.ok("define-framework", framework_body(code))
    opened = await call.ok("open-assessment", {"framework": code, "agency": agency})
    target = opened.result["id"]
    await call.ok("submit-self-scores", {"scores": {"1.1": 2}, "evidence": {"1.1": ["a.pdf"]}},
                  target=target)
    await call.ok("record-appraisal", {"scores": {"1.1": 1}, "notes": "chậm"}, target=target)
    await call.ok("record-survey", {"criterion": "8.1", "questions": [
        {"respondents": 10, "satisfied": 9}, {"respondents": 20, "satisfied": 20}]}, target=target)
    await log.agency(agency)
    await log.procedure(agency, "partial")
    await log.dossier(agency, date(2022, 2, 1), "online", "early")
    dossier_position = await log.dossier(agency, date(2022, 2, 2), "direct")
    planning_position = await log.task(agency, 2022, "completed")
    await call.ok("get-assessment", {"dossier_position": dossier_position,
                                     "planning_position": planning_position}, target=target,
                  min_position=opened.position)
    await call.ok("finish-assessment", {}, target=target)
    last = await call.ok("record-index-result", {"index": "SIPAS", "year": 2021, "agency": agency,
                                                 "score": 97.99, "published_on": "2022-05-01"})
    assert await scoring.runner.wait_for(last.position, 5)

    if db_url.startswith("sqlite"):
        second_url = f"sqlite:///{tmp_path / 'rebuilt.db'}"
    else:
        server = db_url.rsplit("/", 1)[0] + "/postgres"
        second_url = await create_database(server)
    engine = create_engine(second_url)
    try:
        for projection in (ScoringReadModel(), DossierMetrics(), PlanningMetrics()):
            rebuild = ProjectionRunner(nc, engine, projection,
                                       consumer_name=f"rebuild-{projection.name}-{agency}")
            await rebuild.drop()
            await rebuild.catch_up()
        live = await rows_of(scoring.engine, agency, code)
        rebuilt = await rows_of(engine, agency, code)
        assert rebuilt == live
        assert len(rebuilt["assessments"]) == 1 and rebuilt["assessments"][0].status == "finished"
        assert len(rebuilt["results"]) == 2 and len(rebuilt["dossiers"]) == 2
    finally:
        await engine.dispose()
        if not db_url.startswith("sqlite"):
            await drop_database(server, second_url)
