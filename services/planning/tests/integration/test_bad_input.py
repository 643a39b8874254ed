"""Bad input is answered 4xx, with the field named, and nothing is written."""

from datetime import UTC, datetime, timedelta

from cchc.contracts.messages import Principal, Role
from cchc.planning.aggregates import CONTEXT, plan_id
from cchc.runtime.eventstore import EventStore
from cchc.runtime.ids import new_id


def officer(agency: str) -> Principal:
    return Principal(sub=f"officer-{agency}", role=Role.OFFICER, agency=agency)


async def a_task(call, agency):  # type: ignore[no-untyped-def]
    return (await call.new_task((await call.new_plan(agency)).result["id"])).result


async def test_percent_150_is_422_on_percent_and_writes_nothing(call, agency, nc):
    task = await a_task(call, agency)
    reply = await call("report-progress", {"reported_at": task["added_at"], "percent": 150}, target=task["id"])
    assert reply.problem.kind == "invalid"
    assert [e.field for e in reply.problem.errors] == ["percent"]
    assert (await EventStore(nc).load(CONTEXT, task["id"])).version == 1


async def test_completion_before_the_task_was_added_is_422_on_completed_at(call, agency, nc):
    task = await a_task(call, agency)
    before = (datetime.fromisoformat(task["added_at"]) - timedelta(days=1)).isoformat()
    reply = await call("complete-task", {"completed_at": before}, target=task["id"])
    assert reply.problem.kind == "invalid"
    assert [e.field for e in reply.problem.errors] == ["completed_at"]
    assert (await EventStore(nc).load(CONTEXT, task["id"])).version == 1


async def test_a_naive_time_is_422(call, agency):
    task = await a_task(call, agency)
    reply = await call("complete-task", {"completed_at": "2026-07-01T10:00:00"}, target=task["id"])
    assert reply.problem.kind == "invalid" and reply.problem.errors[0].field == "completed_at"


async def test_unknown_plan_task_and_inspection_are_404(call, agency):
    body = {"title": "x", "area": "direction", "due_date": "2026-05-01", "owner": "VP"}
    assert (await call("add-task", body, target=new_id())).problem.kind == "not_found"
    assert (await call("add-task", body, target="*")).problem.kind == "not_found"
    done = {"completed_at": datetime.now(UTC).isoformat()}
    assert (await call("complete-task", done, target=new_id())).problem.kind == "not_found"
    finding = {"kind": "achievement", "text": "x"}
    assert (await call("record-finding", finding, target=new_id())).problem.kind == "not_found"
    assert (await call("get-plan", target=plan_id(agency, 1999))).problem.kind == "not_found"


async def test_an_unknown_area_is_422_on_area(call, agency):
    plan = (await call.new_plan(agency)).result
    body = {"title": "x", "area": "sports", "due_date": "2026-05-01", "owner": "VP"}
    reply = await call("add-task", body, target=plan["id"])
    assert reply.problem.kind == "invalid" and reply.problem.errors[0].field == "area"


async def test_an_officer_acts_on_its_own_agency_only(call, agency, nc):
    other = f"{agency}X"
    mine = await call.ok("issue-plan", {"agency": agency, "year": 2026, "title": "KH"}, principal=officer(agency))
    assert mine.result["agency"] == agency
    refused = await call("issue-plan", {"agency": other, "year": 2026, "title": "KH"}, principal=officer(agency))
    assert refused.problem.kind == "forbidden"
    assert not (await EventStore(nc).load(CONTEXT, plan_id(other, 2026))).exists

    added = await call.new_task(mine.result["id"])
    task = added.result
    done = {"completed_at": datetime.now(UTC).isoformat()}
    assert (await call("complete-task", done, target=task["id"], principal=officer(other))).problem.kind == "forbidden"
    assert (await EventStore(nc).load(CONTEXT, task["id"])).version == 1
    # Read after the task's event (its position, not its version: a read waiting for position 1
    # may come before the plan is in the read model, and "not found" is then the true answer).
    read = await call("get-plan", target=mine.result["id"], principal=officer(other), min_position=added.position)
    assert read.problem.kind == "forbidden"
    listed = await call("list-plans", {"agency": agency}, principal=officer(other))
    assert listed.problem.kind == "forbidden"


async def test_only_home_affairs_and_admin_inspect(call, agency):
    body = {"agency": agency, "inspected_on": "2026-07-15", "team_lead": "TĐ", "scope": "CCHC"}
    for role in (Role.INSPECTOR, Role.OFFICER):
        principal = Principal(sub="x", role=role, agency=agency if role is Role.OFFICER else None)
        assert (await call("open-inspection", body, principal=principal)).problem.kind == "forbidden"
    home_affairs = Principal(sub="snv", role=Role.HOME_AFFAIRS)
    inspection = await call.ok("open-inspection", body, principal=home_affairs)
    finding = {"kind": "shortcoming", "text": "x"}
    inspector = Principal(sub="tt", role=Role.INSPECTOR)
    refused = await call("record-finding", finding, target=inspection.result["id"], principal=inspector)
    assert refused.problem.kind == "forbidden"


async def test_a_remediation_on_an_achievement_is_422_on_remediation(call, agency):
    body = {"agency": agency, "inspected_on": "2026-07-15", "team_lead": "TĐ", "scope": "CCHC"}
    inspection = await call.ok("open-inspection", body)
    finding = {
        "kind": "achievement", "text": "Tốt",
        "remediation": {"title": "x", "area": "direction", "due_date": "2026-12-31"},
    }
    reply = await call("record-finding", finding, target=inspection.result["id"])
    assert reply.problem.kind == "invalid" and reply.problem.errors[0].field == "remediation"
