"""Progress as of a date through the read model: a 2022 plan whose history is in the log."""

from datetime import UTC, date, datetime, timedelta

from cchc.contracts.planning import Area, PlanIssued, TaskAdded, TaskCompleted, TaskRescheduled
from cchc.planning.aggregates import CONTEXT, plan_id
from cchc.planning.domain.model import is_on_time
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.ids import new_id

ADDED_AT = datetime(2022, 1, 5, 2, 0, tzinfo=UTC)
AREAS = list(Area)


async def given_the_2022_plan(store: EventStore, agency: str) -> tuple[str, int]:
    """46 tasks added on 5/1/2022, 35 completed between 1/3 and 14/7/2022; one rescheduled."""
    meta = lambda: Metadata(actor="migration", correlation_id=agency, event_id=new_id())  # noqa: E731
    pid = plan_id(agency, 2022)
    issued = PlanIssued(plan_id=pid, agency=agency, year=2022, title="Kế hoạch CCHC năm 2022", issued_at=ADDED_AT)
    last = await store.append(AggregateHistory(CONTEXT, pid), issued, agency=agency, occurred_at=ADDED_AT, meta=meta())
    for i in range(46):
        task_id = new_id()
        due = date(2022, 6, 30) if i == 45 else date(2022, 12, 15)
        added = TaskAdded(
            task_id=task_id, plan_id=pid, agency=agency, year=2022, title=f"Nhiệm vụ {i + 1}",
            area=AREAS[i % 7], due_date=due, owner="Văn phòng Sở", added_at=ADDED_AT,
        )
        history = AggregateHistory(CONTEXT, task_id)
        appended = await store.append(history, added, agency=agency, occurred_at=ADDED_AT, meta=meta())
        history = history.followed_by(appended.envelope)
        if i < 35:
            completed_at = datetime(2022, 3, 1, 3, tzinfo=UTC) + timedelta(days=3 * i)
            event = TaskCompleted(
                completed_at=completed_at, due_date=due, on_time=is_on_time(completed_at, due), evidence=[]
            )
            appended = await store.append(history, event, agency=agency, occurred_at=completed_at, meta=meta())
        elif i == 45:  # overdue from 1/7 until it is moved to 30/9 on 20/7
            moved_at = datetime(2022, 7, 20, 3, tzinfo=UTC)
            event = TaskRescheduled(rescheduled_at=moved_at, new_due_date=date(2022, 9, 30), reason="chờ hướng dẫn")
            appended = await store.append(history, event, agency=agency, occurred_at=moved_at, meta=meta())
        last = appended
    return pid, last.position


async def test_35_of_46_as_of_the_inspection_day_and_less_before(call, agency, nc):
    pid, position = await given_the_2022_plan(EventStore(nc), agency)

    on_the_day = (await call.ok("plan-progress", {"as_of": "2022-07-15"}, target=pid, min_position=position)).result
    assert (on_the_day["completed"], on_the_day["total"]) == (35, 46)
    assert (on_the_day["overdue"], on_the_day["in_progress"]) == (1, 10)  # due 30/6, moved only on 20/7
    assert on_the_day["completion_rate"] == round(35 / 46, 4)
    assert on_the_day["by_area"]["direction"] == {"total": 7, "completed": 5, "cancelled": 0}

    earlier = (await call.ok("plan-progress", {"as_of": "2022-04-01"}, target=pid)).result
    assert (earlier["completed"], earlier["total"], earlier["overdue"]) == (11, 46, 0)

    after_the_move = (await call.ok("plan-progress", {"as_of": "2022-07-20"}, target=pid)).result
    assert (after_the_move["overdue"], after_the_move["in_progress"]) == (0, 11)

    before_the_plan = (await call.ok("plan-progress", {"as_of": "2022-01-04"}, target=pid)).result
    assert before_the_plan["total"] == 0 and before_the_plan["completion_rate"] is None


async def test_progress_defaults_to_today_and_reads_the_plan_with_its_tasks(call, agency):
    plan = (await call.new_plan(agency)).result
    added = await call.new_task(plan["id"])
    progress = (await call.ok("plan-progress", {}, target=plan["id"], min_position=added.position)).result
    assert progress["total"] == 1 and progress["in_progress"] == 1
    read = (await call.ok("get-plan", target=plan["id"])).result
    assert [t["id"] for t in read["tasks"]] == [added.result["id"]]
    listed = (await call.ok("list-plans", {"agency": agency})).result
    assert [p["id"] for p in listed["items"]] == [plan["id"]] and listed["next_cursor"] is None
