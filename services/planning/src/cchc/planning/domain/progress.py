"""A plan's progress as of a date, from its tasks' dated facts (pure: the caller gathers them).

Only what had happened by the end of ``as_of`` counts: a task added later does not exist yet, a
task completed or cancelled later is still open, and the due date is the one in force that day.
The figures partition the plan: total = completed + in_progress + overdue + cancelled, where
in_progress is open and not yet past due, overdue is open after its due date (due < as_of).
completion_rate = completed / (total - cancelled), None when nothing is left to complete (an
empty or entirely cancelled plan has no rate rather than a misleading 0 or 100%).
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from cchc.contracts.planning import Area

RATE_DIGITS = 4


@dataclass(frozen=True)
class TaskFacts:
    """One task's dated facts. ``due_dates``: (in force from, due date) in log order, the added
    one first; a later entry in force by a day replaces an earlier one (a correction wins)."""

    area: str
    added_on: date
    due_dates: tuple[tuple[date, date], ...]
    completed_on: date | None = None
    on_time: bool | None = None
    cancelled_on: date | None = None

    def exists_on(self, day: date) -> bool:
        return self.added_on <= day

    def due_date_on(self, day: date) -> date:
        in_force = self.due_dates[0][1]
        for valid_from, due in self.due_dates:
            if valid_from <= day:
                in_force = due
        return in_force


def empty_by_area() -> dict[str, dict[str, int]]:
    return {area.value: {"total": 0, "completed": 0, "cancelled": 0} for area in Area}


def plan_progress(tasks: Iterable[TaskFacts], as_of: date) -> dict[str, Any]:
    counts = {
        "total": 0, "completed": 0, "completed_on_time": 0, "completed_late": 0,
        "in_progress": 0, "overdue": 0, "cancelled": 0,
    }
    by_area = empty_by_area()
    for task in tasks:
        if not task.exists_on(as_of):
            continue
        counts["total"] += 1
        area = by_area.setdefault(task.area, {"total": 0, "completed": 0, "cancelled": 0})
        area["total"] += 1
        if task.completed_on is not None and task.completed_on <= as_of:
            counts["completed"] += 1
            counts["completed_on_time" if task.on_time else "completed_late"] += 1
            area["completed"] += 1
        elif task.cancelled_on is not None and task.cancelled_on <= as_of:
            counts["cancelled"] += 1
            area["cancelled"] += 1
        elif task.due_date_on(as_of) < as_of:
            counts["overdue"] += 1
        else:
            counts["in_progress"] += 1
    return {
        "as_of": as_of.isoformat(),
        **counts,
        "completion_rate": completion_rate(
            counts["completed"], counts["total"], counts["cancelled"]
        ),
        "by_area": by_area,
    }


def completion_rate(completed: int, total: int, cancelled: int) -> float | None:
    remaining = total - cancelled
    return round(completed / remaining, RATE_DIGITS) if remaining > 0 else None
