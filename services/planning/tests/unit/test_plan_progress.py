"""Progress as of a date: only facts up to that date count."""

from datetime import date, timedelta

from cchc.planning.domain.progress import TaskFacts, plan_progress

JAN_5 = date(2022, 1, 5)
REPORT_DAY = date(2022, 7, 15)


def the_2022_plan() -> list[TaskFacts]:
    """46 tasks added on 5/1/2022; 35 completed by 15/7/2022, the i-th on 1/3 + i days."""
    tasks = []
    areas = ["direction", "institutions", "procedures", "apparatus", "civil_service", "public_finance", "digital_government"]
    for i in range(46):
        due = date(2022, 12, 15)
        completed = date(2022, 3, 1) + timedelta(days=i * 3) if i < 35 else None  # last on 14/7
        tasks.append(
            TaskFacts(
                area=areas[i % 7], added_on=JAN_5, due_dates=((JAN_5, due),),
                completed_on=completed, on_time=True if completed else None,
            )
        )
    return tasks


def test_35_of_46_tasks_completed_as_of_the_inspection_day():
    progress = plan_progress(the_2022_plan(), REPORT_DAY)
    assert (progress["completed"], progress["total"]) == (35, 46)
    assert progress["in_progress"] == 11 and progress["overdue"] == 0
    assert progress["completion_rate"] == round(35 / 46, 4)
    assert sum(a["total"] for a in progress["by_area"].values()) == 46
    assert sum(a["completed"] for a in progress["by_area"].values()) == 35


def test_an_earlier_date_reads_less():
    progress = plan_progress(the_2022_plan(), date(2022, 4, 1))
    assert progress["total"] == 46
    assert progress["completed"] == 11  # 1/3 .. 31/3, every third day
    assert plan_progress(the_2022_plan(), date(2022, 1, 4))["total"] == 0


def test_a_task_completed_after_as_of_is_open_and_overdue_once_past_due():
    task = TaskFacts(
        area="procedures", added_on=JAN_5, due_dates=((JAN_5, date(2022, 6, 30)),),
        completed_on=date(2022, 8, 1), on_time=False,
    )
    assert plan_progress([task], date(2022, 6, 30))["in_progress"] == 1
    assert plan_progress([task], date(2022, 7, 1))["overdue"] == 1
    later = plan_progress([task], date(2022, 8, 1))
    assert (later["completed"], later["completed_late"], later["overdue"]) == (1, 1, 0)


def test_the_due_date_in_force_at_as_of_decides_overdue():
    rescheduled = TaskFacts(
        area="procedures", added_on=JAN_5,
        due_dates=((JAN_5, date(2022, 3, 31)), (date(2022, 5, 10), date(2022, 9, 30))),
    )
    assert plan_progress([rescheduled], date(2022, 5, 1))["overdue"] == 1  # before the move
    assert plan_progress([rescheduled], date(2022, 5, 10))["in_progress"] == 1


def test_cancelled_tasks_leave_the_denominator():
    tasks = [
        TaskFacts(area="direction", added_on=JAN_5, due_dates=((JAN_5, REPORT_DAY),), completed_on=JAN_5, on_time=True),
        TaskFacts(area="direction", added_on=JAN_5, due_dates=((JAN_5, REPORT_DAY),), cancelled_on=JAN_5),
        TaskFacts(area="direction", added_on=JAN_5, due_dates=((JAN_5, REPORT_DAY),)),
    ]
    progress = plan_progress(tasks, REPORT_DAY)
    assert (progress["total"], progress["cancelled"], progress["completion_rate"]) == (3, 1, 0.5)
    total = progress["completed"] + progress["in_progress"] + progress["overdue"] + progress["cancelled"]
    assert total == progress["total"]


def test_no_rate_when_nothing_is_left_to_complete():
    assert plan_progress([], REPORT_DAY)["completion_rate"] is None
    cancelled = TaskFacts(area="direction", added_on=JAN_5, due_dates=((JAN_5, REPORT_DAY),), cancelled_on=JAN_5)
    assert plan_progress([cancelled], REPORT_DAY)["completion_rate"] is None
