"""An inspection's shortcoming becomes one task in the agency's plan, however often it is seen."""

import asyncio
from datetime import UTC, date, datetime

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.planning import FindingRecorded
from cchc.planning.aggregates import CONTEXT, plan_id, remediation_task_id
from cchc.planning.processes import RemediationProcess, remediation_plan_title
from cchc.runtime.eventstore import EventStore
from cchc.runtime.projection import ProjectionRunner

REMEDIATION = {"title": "Số hoá kết quả giải quyết TTHC", "area": "digital_government", "due_date": "2022-12-31"}


async def record_shortcoming(call, agency: str) -> dict:  # type: ignore[no-untyped-def]
    inspection = await call.ok(
        "open-inspection",
        {"agency": agency, "inspected_on": "2022-07-15", "team_lead": "Trưởng đoàn Sở Nội vụ", "scope": "Công tác CCHC năm 2022"},
    )
    finding = await call.ok(
        "record-finding",
        {"kind": "shortcoming", "text": "Tỷ lệ số hoá kết quả còn thấp", "remediation": REMEDIATION},
        target=inspection.result["id"],
    )
    return finding.result


async def wait_for_task(store: EventStore, task_id: str) -> None:
    for _ in range(100):
        if (await store.load(CONTEXT, task_id)).exists:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no remediation task {task_id}")


async def test_a_shortcoming_issues_the_missing_plan_and_adds_its_task_once(call, agency, nc, planning):
    store = EventStore(nc)
    finding = await record_shortcoming(call, agency)
    task_id = remediation_task_id(finding["id"])
    assert finding["remediation_task_id"] == task_id
    await wait_for_task(store, task_id)

    plan = await store.load(CONTEXT, plan_id(agency, 2022))
    task = await store.load(CONTEXT, task_id)
    assert plan.version == 1 and plan.envelopes[0].payload["title"] == remediation_plan_title(2022)
    assert plan.envelopes[0].payload["title"] == "Kế hoạch cải cách hành chính năm 2022"
    added = task.envelopes[0]
    assert added.payload["finding_id"] == finding["id"] and added.payload["plan_id"] == plan_id(agency, 2022)
    assert added.causation_id is not None

    # The same FindingRecorded delivered again, straight to the process manager.
    finding_envelope = next(
        e for e in (await store.load(CONTEXT, finding["inspection_id"])).envelopes if e.type == "FindingRecorded"
    )
    process = RemediationProcess(store)
    event = FindingRecorded.model_validate(finding_envelope.payload)
    assert await process.remedy(event, finding_envelope) == "task already added"

    # A restart from scratch (checkpoint forgotten, a new consumer) replays every finding.
    replay = ProjectionRunner(nc, planning.engine, process, consumer_name=f"remediation-replay-{agency}")
    await replay.drop()
    await replay.catch_up()
    assert (await store.load(CONTEXT, task_id, consistent=True)).version == 1
    assert (await store.load(CONTEXT, plan_id(agency, 2022), consistent=True)).version == 1

    tasks = (await call.ok("list-tasks", {"plan_id": plan_id(agency, 2022)}, min_position=task.last_position)).result
    assert [t["id"] for t in tasks["items"]] == [task_id]
    assert tasks["items"][0]["finding_id"] == finding["id"]


async def test_a_plan_issued_beforehand_receives_the_task(call, agency, nc):
    store = EventStore(nc)
    await call.new_plan(agency, 2022)
    finding = await record_shortcoming(call, agency)
    await wait_for_task(store, remediation_task_id(finding["id"]))
    assert (await store.load(CONTEXT, plan_id(agency, 2022))).version == 1


def unlogged_finding(agency: str) -> tuple[FindingRecorded, EventEnvelope]:
    """A finding the running service never saw, so only this test's process managers act on it."""
    event = FindingRecorded(
        finding_id=f"finding-{agency}", inspection_id=f"inspection-{agency}", agency=agency,
        inspected_on=date(2022, 7, 15), kind="shortcoming", text="Chậm số hoá",
        remediation=REMEDIATION, recorded_at=datetime(2022, 7, 15, 3, tzinfo=UTC),
    )
    envelope = EventEnvelope(
        event_id=f"event-{agency}", type="FindingRecorded", schema_version=1, context=CONTEXT,
        agency=agency, aggregate_id=event.inspection_id, aggregate_version=2,
        occurred_at=event.recorded_at, recorded_at=event.recorded_at, actor="snv",
        correlation_id=agency, payload=event.model_dump(mode="json"),
    )
    return event, envelope


async def test_a_crash_between_plan_and_task_is_healed_by_the_next_delivery(agency, nc):
    store = EventStore(nc)
    event, envelope = unlogged_finding(agency)
    await RemediationProcess(store)._plan(plan_id(agency, 2022), event, envelope)  # then "crash"
    task_id = remediation_task_id(event.finding_id)
    assert not (await store.load(CONTEXT, task_id)).exists

    # Redelivered, even to several process managers at once: one plan, one task.
    outcomes = await asyncio.gather(*(RemediationProcess(store).remedy(event, envelope) for _ in range(4)))
    assert "task added" in outcomes
    assert (await store.load(CONTEXT, task_id, consistent=True)).version == 1
    assert (await store.load(CONTEXT, plan_id(agency, 2022), consistent=True)).version == 1


async def test_an_achievement_adds_no_task(call, agency, nc):
    inspection = await call.ok(
        "open-inspection", {"agency": agency, "inspected_on": "2022-07-15", "team_lead": "TĐ", "scope": "CCHC"}
    )
    finding = await call.ok(
        "record-finding", {"kind": "achievement", "text": "Không có hồ sơ trễ hạn"}, target=inspection.result["id"],
    )
    assert finding.result["remediation_task_id"] is None
    read = (await call.ok("get-inspection", target=inspection.result["id"], min_position=finding.position)).result
    assert [f["kind"] for f in read["findings"]] == ["achievement"]
    assert (await EventStore(nc).load(CONTEXT, plan_id(agency, 2022))).exists is False
