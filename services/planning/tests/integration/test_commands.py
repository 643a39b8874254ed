"""Commands through the service's endpoints: answers, concurrency on one task, idempotency."""

import asyncio
from datetime import UTC, datetime, timedelta

from cchc.contracts.messages import Principal, Role
from cchc.planning.aggregates import CONTEXT, plan_id
from cchc.runtime.eventstore import EventStore


def soon(minutes: int = 1) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


async def test_issue_plan_answers_the_derived_id_and_version(call, agency):
    reply = await call.new_plan(agency, 2026)
    assert reply.result["id"] == plan_id(agency, 2026)
    assert (reply.result["agency"], reply.result["year"], reply.version) == (agency, 2026, 1)
    assert reply.position and reply.position > 0


async def test_a_second_plan_for_the_same_agency_and_year_is_a_conflict(call, agency):
    await call.new_plan(agency, 2026)
    again = await call("issue-plan", {"agency": agency, "year": 2026, "title": "Kế hoạch khác"})
    assert again.problem.kind == "conflict"


async def test_add_task_answers_the_task(call, agency):
    plan = (await call.new_plan(agency)).result
    task = (await call.new_task(plan["id"], area="digital_government")).result
    assert task["plan_id"] == plan["id"] and task["agency"] == agency
    assert (task["area"], task["status"], task["version"]) == ("digital_government", "in_progress", 1)


async def test_eight_concurrent_completions_one_wins_the_others_conflict(call, agency):
    task = (await call.new_task((await call.new_plan(agency)).result["id"])).result
    replies = await asyncio.gather(
        *(call("complete-task", {"completed_at": soon()}, target=task["id"]) for _ in range(8))
    )
    assert sum(r.ok for r in replies) == 1
    assert sorted(r.problem.kind for r in replies if not r.ok) == ["conflict"] * 7


async def test_eight_concurrent_completions_with_if_match_the_others_are_stale(call, agency):
    task = (await call.new_task((await call.new_plan(agency)).result["id"])).result
    replies = await asyncio.gather(
        *(
            call("complete-task", {"completed_at": soon()}, target=task["id"], if_match=1)
            for _ in range(8)
        )
    )
    assert sum(r.ok for r in replies) == 1
    assert sorted(r.problem.kind for r in replies if not r.ok) == ["precondition_failed"] * 7


async def test_a_stale_if_match_is_412_and_writes_nothing(call, agency, nc):
    task = (await call.new_task((await call.new_plan(agency)).result["id"])).result
    await call.ok("report-progress", {"reported_at": soon(), "percent": 30}, target=task["id"])
    stale = await call("complete-task", {"completed_at": soon()}, target=task["id"], if_match=1)
    assert stale.problem.kind == "precondition_failed"
    assert (await EventStore(nc).load(CONTEXT, task["id"])).version == 2


async def test_the_same_idempotency_key_twice_writes_once_and_answers_the_same(call, agency, nc):
    store = EventStore(nc)
    body = {"agency": agency, "year": 2026, "title": "Kế hoạch CCHC năm 2026"}
    first = await call.ok("issue-plan", body, key=f"{agency}-plan")
    second = await call.ok("issue-plan", body, key=f"{agency}-plan")
    assert first == second

    task_body = {"title": "Số hoá hồ sơ", "area": "digital_government", "due_date": "2026-12-31", "owner": "VP"}
    first_task = await call.ok("add-task", task_body, target=first.result["id"], key=f"{agency}-task")
    second_task = await call.ok("add-task", task_body, target=first.result["id"], key=f"{agency}-task")
    assert first_task == second_task

    done = {"completed_at": soon(), "evidence": "QĐ 123/QĐ-STTTT"}
    task_id = first_task.result["id"]
    first_done = await call.ok("complete-task", done, target=task_id, key=f"{agency}-done")
    second_done = await call.ok("complete-task", done, target=task_id, key=f"{agency}-done")
    assert first_done == second_done and first_done.result["on_time"] is True
    assert (await store.load(CONTEXT, first.result["id"])).version == 1
    assert (await store.load(CONTEXT, task_id)).version == 2


async def test_concurrent_twins_with_one_key_write_once(call, agency, nc):
    plan = (await call.new_plan(agency)).result
    body = {"title": "Đào tạo công chức", "area": "civil_service", "due_date": "2026-10-01", "owner": "VP"}
    replies = await asyncio.gather(
        *(call("add-task", body, target=plan["id"], key=f"{agency}-twin") for _ in range(5))
    )
    assert all(r.ok for r in replies)
    assert len({r.result["id"] for r in replies}) == 1
    assert (await EventStore(nc).load(CONTEXT, replies[0].result["id"])).version == 1


async def test_home_affairs_plans_for_any_agency_the_inspector_reads_only(call, agency):
    home_affairs = Principal(sub="snv", role=Role.HOME_AFFAIRS)
    inspector = Principal(sub="tt", role=Role.INSPECTOR)
    plan = await call.ok("issue-plan", {"agency": agency, "year": 2026, "title": "KH"}, principal=home_affairs)
    refused = await call("add-task", {"title": "x", "area": "direction", "due_date": "2026-05-01", "owner": "VP"},
                         target=plan.result["id"], principal=inspector)
    assert refused.problem.kind == "forbidden"
