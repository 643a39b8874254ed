"""Auto criteria follow the dossier and planning events the scoring service projects itself,
and are frozen, with their explanation, when the assessment is finished."""

from datetime import date

from cchc.scoring.templates import framework_templates


def finals(assessment: dict) -> dict[str, float]:
    return {c["code"]: c["final"] for c in assessment["criteria"]}


async def test_auto_scores_follow_new_events_until_the_assessment_is_finished(call, log, agency, framework_body):
    code = f"PAR-{agency}"
    await call.ok("define-framework", framework_body(code))
    opened = await call.ok("open-assessment", {"framework": code, "agency": agency})
    assessment_id = opened.result["id"]

    last_write = opened.position

    async def read(**positions: int) -> dict:
        reply = await call.ok("get-assessment", positions, target=assessment_id,
                              min_position=last_write)
        return reply.result

    nothing = await read()
    assert finals(nothing) == {"1.1": 0, "1.2": 0, "3.3": 0, "7.3": 0, "3.1": 0, "7.2": 0, "8.1": 0}
    plan = next(c for c in nothing["criteria"] if c["code"] == "1.2")
    assert plan["explanation"] == {"metric": "plan.completion_rate", "value": None,
                                   "rule": "no data", "points": 0.0}

    # Plan 2022: 3 of 4 tasks completed (one more cancelled, out of the denominator): 75 % -> 1.
    for status in ("completed", "completed", "completed", "open", "cancelled"):
        position = await log.task(agency, 2022, status)
    await log.task(agency, 2021, "open")  # another year's plan does not count
    now = await read(planning_position=position)
    assert finals(now)["1.2"] == 1
    plan = next(c for c in now["criteria"] if c["code"] == "1.2")
    assert plan["auto"] == 1 and plan["explanation"]["value"] == 0.75
    assert plan["explanation"]["band"] == {"min_rate": 0.7, "points": 1}

    position = await log.task(agency, 2022, "completed")  # 4 of 5 -> 80 %, still band 0.7
    assert finals(await read(planning_position=position))["1.2"] == 1

    # Dossiers 2022: 4 received (1 online), 2 resolved early or on time -> on-time 100 %.
    await log.agency(agency)
    await log.procedure(agency, "full", published_on=date(2022, 1, 10))
    await log.procedure(agency, "partial", published_on=date(2021, 6, 1))
    # Decided in 2023: not one of 2022's published procedures (answers that stay put).
    await log.procedure(agency, "full", published_on=date(2023, 2, 1))
    await log.dossier(agency, date(2022, 3, 1), "online", "early")
    await log.dossier(agency, date(2022, 3, 2), "direct", "on_time")
    await log.dossier(agency, date(2022, 3, 3), "direct")
    await log.dossier(agency, date(2021, 12, 1), "online", "early")  # 2021: not this year
    position = await log.dossier(agency, date(2022, 3, 4), "postal")
    now = await read(dossier_position=position)
    assert finals(now)["3.3"] == 4  # 2/2 on time
    assert finals(now)["7.3"] == 1.5  # 1/4 online: 0.25 × 3 / 0.5
    assert finals(now)["3.1"] == 1  # 2 procedures published
    assert finals(now)["7.2"] == 2.5  # 1/2 fully online: 0.5 × 4 / 0.8
    assert now["score"] == 1 + 4 + 1.5 + 1 + 2.5

    position = await log.dossier(agency, date(2022, 4, 1), "online", "late")  # on time 2/3
    now = await read(dossier_position=position)
    assert finals(now)["3.3"] == 0
    assert next(c for c in now["criteria"] if c["code"] == "3.3")["explanation"]["rule"] == (
        "below every band"
    )

    finished = await call.ok("finish-assessment", {}, target=assessment_id)
    last_write = finished.position
    assert finished.result["status"] == "finished" and finished.result["score"] == now["score"]
    position = await log.dossier(agency, date(2022, 4, 2), "online", "early")
    frozen = await read(dossier_position=position)
    assert frozen["status"] == "finished"
    assert finals(frozen) == finals(now)
    assert next(c for c in frozen["criteria"] if c["code"] == "7.3")["explanation"]["value"] == 0.4  # 2 of 5 online at the finish


async def test_a_read_waits_for_the_metric_positions_it_names(call, log, agency, framework_body):
    code = f"PAR-{agency}"
    await call.ok("define-framework", framework_body(code))
    opened = await call.ok("open-assessment", {"framework": code, "agency": agency})
    position = await log.task(agency, 2022, "completed")
    reply = await call.ok("get-assessment", {"planning_position": position},
                          target=opened.result["id"], min_position=opened.position)
    assert finals(reply.result)["1.2"] == 2
    # A position beyond the end of the log was never written: bad input, not a wait (and a 503).
    far = await call("get-assessment", {"planning_position": position + 10_000},
                     target=opened.result["id"], min_position=opened.position)
    assert far.problem.kind == "bad_request" and far.problem.errors[0].field == "planning_position"


async def test_a_past_years_points_stay_put_when_later_events_arrive(
    call, log, agency, framework_body
):
    """Automatic criteria are computed as of the end of the assessment's year: a 2022 task
    completed in February 2023, or a procedure decided in 2023, changes nothing for 2022."""
    code = f"PAR-{agency}"
    await call.ok("define-framework", framework_body(code))
    opened = await call.ok("open-assessment", {"framework": code, "agency": agency})
    for status in ("completed", "completed", "completed"):
        await log.task(agency, 2022, status)
    late_task, position = await log.open_task(agency, 2022)  # open on 31/12/2022: 3 of 4

    async def plan_criterion(planning_position: int) -> dict:
        reply = await call.ok("get-assessment", {"planning_position": planning_position},
                              target=opened.result["id"], min_position=opened.position)
        return next(c for c in reply.result["criteria"] if c["code"] == "1.2")

    before = await plan_criterion(position)
    assert before["explanation"]["value"] == 0.75 and before["final"] == 1
    position = await log.complete_task(agency, late_task, date(2023, 2, 1))
    after = await plan_criterion(position)
    assert after["explanation"] == before["explanation"] and after["final"] == before["final"]


async def test_the_766_progress_criterion_counts_by_decision_766s_clock(call, log, agency):
    """The Decision 766 template's progress criterion (2.1: rate × 20, threshold 100 %) reads
    dossier.on_time_rate_766: the dossier service's 766 judgement, and for a resolution written
    before it existed, late after more than one supplementation request."""
    template = next(t for t in framework_templates() if t.index.value == "SERVICE")
    body = {**template.model_dump(mode="json"), "code": f"SERVICE-{agency}", "template": False}
    await call.ok("define-framework", body)
    opened = await call.ok("open-assessment", {"framework": body["code"], "agency": agency})
    await log.agency(agency)
    await log.dossier(agency, date(2022, 3, 1), "online", "early", timeliness_766="early")
    # On time by the report form (restarted twice), late by 766.
    await log.dossier(agency, date(2022, 3, 2), "online", "on_time", timeliness_766="late",
                      supplement_requests=2)
    # Recorded before the 766 clock: two requests are late, one keeps the form's judgement.
    await log.dossier(agency, date(2022, 3, 3), "online", "early", supplement_requests=2)
    position = await log.dossier(agency, date(2022, 3, 4), "online", "early",
                                 supplement_requests=1)
    reply = await call.ok("get-assessment", {"dossier_position": position},
                          target=opened.result["id"], min_position=opened.position)
    progress = next(c for c in reply.result["criteria"] if c["code"] == "2.1")
    assert progress["explanation"]["metric"] == "dossier.on_time_rate_766"
    assert progress["explanation"]["value"] == 0.5  # 2 of 4; the form's rate is 4 of 4
    assert progress["auto"] == progress["final"] == 10.0  # 0.5 × 20 / 100 %
