"""Waiting at most so long, in a way a cancel always gets through.

Python 3.11's ``asyncio.wait_for`` can swallow a cancel that arrives just as the awaited thing
completes (python/cpython#86296, fixed in 3.12): the task that was asked to stop goes on. A
service's loops wait with a timeout on every turn (``stop.wait()`` between rounds), so each of
them could outlive its stop. ``asyncio.timeout`` hands an outside cancel back as it came.

The libraries a task awaits still use ``wait_for`` (nats-py's requests, among others), so one
cancel may not be enough to end it: ``cancel_and_wait`` sends it again until the task ends.
"""

import asyncio
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)

RECANCEL_S = 0.1  # how long a cancelled task has to end before it is cancelled again


async def wait_at_most(awaitable: Awaitable[object], seconds: float | None) -> bool:
    """Await ``awaitable`` for at most ``seconds`` (None: no limit); True if it finished in
    time, False if the time ran out (it is then cancelled)."""
    try:
        async with asyncio.timeout(seconds):
            await awaitable
    except TimeoutError:
        return False
    return True


async def cancel_and_wait(*tasks: asyncio.Task[object], give_up_after_s: float = 30.0) -> bool:
    """Cancel ``tasks`` and return once each has ended (True), cancelling again each one that
    went on: a cancel swallowed by a library's ``wait_for`` is not the end of it. False if some
    still run after ``give_up_after_s`` (a task that ignores every cancel); they are logged and
    left. What the ended tasks raised is taken (never "exception was never retrieved")."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + give_up_after_s
    running = {task for task in tasks if not task.done()}
    while running:
        for task in running:
            task.cancel()
        _, running = await asyncio.wait(running, timeout=RECANCEL_S)
        if running and loop.time() >= deadline:
            log.error("tasks still running %.0f s after their cancel: %s", give_up_after_s,
                      ", ".join(sorted(task.get_name() for task in running)))
            break
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()
    return not running
