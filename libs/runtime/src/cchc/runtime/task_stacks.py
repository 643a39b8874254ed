"""Where each asyncio task of the process waits, for the log when something hangs.

Why: in the compose cluster's fault drill nats-py's reconnect stopped for 45 s with no attempt
logged, and a process restarted by the watchdog takes the answer with it. asyncio's own
``Task.get_stack`` shows a suspended coroutine's outermost frame only; the hang is deeper, at the
end of its chain of awaits. This follows the chain (``cr_await``, a generator's
``gi_yieldfrom``) down to what the task waits on: a future, a sleep, a lock. Python 3.14's
``asyncio.format_call_graph`` does the same; the services run on 3.11.
"""

import asyncio
from pathlib import Path
from typing import Any

MAX_DEPTH = 64  # a chain longer than this is cut: a log line, not a debugger


def awaited_chain(task: asyncio.Task[Any]) -> list[str]:
    """The task's coroutines from outermost to innermost, each as ``name (file:line)``, then
    the future the task waits on, if any (a sleep's, an event's waiter, a read's)."""
    chain: list[str] = []
    awaitable: Any = task.get_coro()
    while awaitable is not None and len(chain) < MAX_DEPTH:
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "gi_frame", None)
        if frame is None:  # a future's iterator, a finished coroutine: the chain ends
            break
        chain.append(f"{frame.f_code.co_qualname} "
                     f"({Path(frame.f_code.co_filename).name}:{frame.f_lineno})")
        awaitable = (getattr(awaitable, "cr_await", None)
                     or getattr(awaitable, "gi_yieldfrom", None))
    waiting_on = getattr(task, "_fut_waiter", None)  # what asyncio's Task repr calls wait_for
    if waiting_on is not None:
        chain.append(_short(repr(waiting_on)))
    return chain


def describe_tasks() -> str:
    """One line per task of the running loop: its name and its chain of awaits."""
    tasks = sorted(asyncio.all_tasks(), key=lambda task: task.get_name())
    return "\n".join(f"  {task.get_name()}: {' -> '.join(awaited_chain(task))}"
                     for task in tasks)


def _short(text: str, limit: int = 160) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."
