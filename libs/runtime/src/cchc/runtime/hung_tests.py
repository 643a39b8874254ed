"""A pytest plugin: a test that outlives pytest-timeout's limit fails with its tasks' awaits.

pytest-timeout's own report of a hung test is each thread's stack. The tests run on one event
loop, so the main thread's stack is the loop's ``select`` whatever the hang is. This plugin
takes the timer over (the same SIGALRM, the same failure) and first writes where each asyncio
task waits (``cchc.runtime.task_stacks``), which is where the hang is.
"""

import asyncio
import signal
import threading
from typing import Any

import pytest
import pytest_timeout

from cchc.runtime.task_stacks import describe_tasks


def tasks_now() -> str:
    """Each task of the loop running in this thread, or why there is none to show."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return "  (no event loop running: the test hung outside asyncio)"
    return describe_tasks() or "  (no task)"


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    if settings.method != "signal" or threading.current_thread() is not threading.main_thread():
        return None  # pytest-timeout's own timer

    def timed_out(signum: int, frame: Any) -> None:
        __tracebackhide__ = True
        terminal = item.config.get_terminal_writer()
        terminal.sep("+", title=f"Timeout: {item.nodeid}: where each asyncio task waits")
        terminal.line(tasks_now())
        pytest_timeout.timeout_sigalrm(item, settings)

    def cancel() -> None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined] - pytest-timeout calls it
    signal.signal(signal.SIGALRM, timed_out)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True
