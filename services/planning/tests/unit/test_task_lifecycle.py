"""Tasks: given past events, when a command, then the event (or the named refusal)."""

from datetime import UTC, date, datetime, timedelta

import pytest

from cchc.contracts.planning import Area, PlanIssued, TaskAdded, TaskCompleted
from cchc.contracts.planning_commands import (
    AddTask,
    CancelTask,
    CompleteTask,
    ReportProgress,
    RescheduleTask,
)
from cchc.planning.domain import model
from cchc.planning.domain.errors import Conflict, InvalidCommand, NotFound

ADDED_AT = datetime(2022, 1, 10, 2, 0, tzinfo=UTC)  # 09:00 in Hà Nội


def plan() -> model.Plan:
    issued = PlanIssued(
        plan_id="p1", agency="STTTT", year=2022, title="Kế hoạch CCHC năm 2022",
        issued_at=ADDED_AT,
    )
    return model.replay(model.evolve_plan, [issued])


def task_added(due: date = date(2022, 6, 30)) -> TaskAdded:
    return TaskAdded(
        task_id="t1", plan_id="p1", agency="STTTT", year=2022, title="Rà soát thủ tục",
        area=Area.PROCEDURES, due_date=due, owner="Phòng CCHC", added_at=ADDED_AT,
    )


def given(*events) -> model.Task:  # type: ignore[no-untyped-def]
    state = model.replay(model.evolve_task, events)
    assert state is not None
    return state


def test_a_task_is_added_to_an_existing_plan_with_its_agency_and_year():
    command = AddTask(title="Số hoá hồ sơ", area=Area.DIGITAL_GOVERNMENT, due_date=date(2022, 9, 30), owner="VP")
    event = model.add_task(plan(), None, "t9", command, ADDED_AT)
    assert (event.plan_id, event.agency, event.year, event.finding_id) == ("p1", "STTTT", 2022, None)


def test_a_task_needs_a_plan():
    command = AddTask(title="x", area=Area.DIRECTION, due_date=date(2022, 9, 30), owner="VP")
    with pytest.raises(NotFound):
        model.add_task(None, None, "t9", command, ADDED_AT)


def test_completion_on_the_due_day_late_in_the_local_evening_is_on_time():
    # 23:30 on 30/6 in Asia/Ho_Chi_Minh is 16:30 UTC the same day.
    event = model.complete_task(
        given(task_added()), CompleteTask(completed_at=datetime(2022, 6, 30, 16, 30, tzinfo=UTC))
    )
    assert event.on_time is True and event.due_date == date(2022, 6, 30)


def test_completion_on_the_next_local_day_is_late_even_if_still_the_due_day_in_utc():
    # 17:30 UTC on 30/6 is 00:30 on 1/7 in Hà Nội.
    event = model.complete_task(
        given(task_added()), CompleteTask(completed_at=datetime(2022, 6, 30, 17, 30, tzinfo=UTC))
    )
    assert event.on_time is False


def test_completion_is_judged_by_the_due_date_in_force_after_rescheduling():
    task = given(task_added())
    moved = model.reschedule_task(
        task, RescheduleTask(rescheduled_at=ADDED_AT + timedelta(days=30), new_due_date=date(2022, 8, 31), reason="thiếu kinh phí"),
    )
    task = given(task_added(), moved)
    event = model.complete_task(task, CompleteTask(completed_at=datetime(2022, 8, 1, tzinfo=UTC)))
    assert event.due_date == date(2022, 8, 31) and event.on_time


@pytest.mark.parametrize(
    "decide",
    [
        lambda t: model.report_progress(t, ReportProgress(reported_at=ADDED_AT, percent=50)),
        lambda t: model.complete_task(t, CompleteTask(completed_at=ADDED_AT)),
        lambda t: model.cancel_task(t, CancelTask(cancelled_at=ADDED_AT, reason="x")),
        lambda t: model.reschedule_task(
            t, RescheduleTask(rescheduled_at=ADDED_AT, new_due_date=date(2022, 12, 1), reason="x")
        ),
    ],
)
def test_nothing_happens_to_a_completed_task(decide):  # type: ignore[no-untyped-def]
    completed = TaskCompleted(
        completed_at=ADDED_AT, due_date=date(2022, 6, 30), on_time=True, evidence=[]
    )
    with pytest.raises(Conflict):
        decide(given(task_added(), completed))


def test_a_cancelled_task_cannot_be_completed():
    task = given(task_added())
    cancelled = model.cancel_task(task, CancelTask(cancelled_at=ADDED_AT, reason="trùng lặp"))
    with pytest.raises(Conflict):
        model.complete_task(given(task_added(), cancelled), CompleteTask(completed_at=ADDED_AT))


@pytest.mark.parametrize(
    ("field", "decide"),
    [
        ("completed_at", lambda t, at: model.complete_task(t, CompleteTask(completed_at=at))),
        ("reported_at", lambda t, at: model.report_progress(t, ReportProgress(reported_at=at, percent=10))),
        ("cancelled_at", lambda t, at: model.cancel_task(t, CancelTask(cancelled_at=at, reason="x"))),
        (
            "rescheduled_at",
            lambda t, at: model.reschedule_task(
                t, RescheduleTask(rescheduled_at=at, new_due_date=date(2022, 12, 1), reason="x")
            ),
        ),
    ],
)
def test_business_times_before_the_task_was_added_are_refused_naming_the_field(field, decide):  # type: ignore[no-untyped-def]
    with pytest.raises(InvalidCommand) as refused:
        decide(given(task_added()), ADDED_AT - timedelta(seconds=1))
    assert refused.value.field == field and refused.value.kind == "invalid"


def test_progress_moves_the_percent_and_completion_makes_it_whole():
    task = given(task_added())
    reported = model.report_progress(task, ReportProgress(reported_at=ADDED_AT, percent=40, note="đang làm"))
    assert given(task_added(), reported).percent == 40
    completed = model.complete_task(given(task_added(), reported), CompleteTask(completed_at=ADDED_AT))
    done = given(task_added(), reported, completed)
    assert (done.status, done.percent, done.version) == (model.TaskStatus.COMPLETED, 100, 3)


def test_the_domain_refuses_a_percent_outside_0_to_100_even_without_the_schema():
    command = ReportProgress.model_construct(reported_at=ADDED_AT, percent=150, note="")
    with pytest.raises(InvalidCommand) as refused:
        model.report_progress(given(task_added()), command)
    assert refused.value.field == "percent"
