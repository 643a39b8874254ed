"""Waiting at most so long, in a way a cancel always gets through.

Python 3.11's ``asyncio.wait_for`` can swallow a cancel that arrives just as the awaited thing
completes (python/cpython#86296, fixed in 3.12): the task that was asked to stop goes on. A
service's loops wait with a timeout on every turn (``stop.wait()`` between rounds), so each of
them could outlive its stop. ``asyncio.timeout`` hands an outside cancel back as it came.
"""

import asyncio
from collections.abc import Awaitable


async def wait_at_most(awaitable: Awaitable[object], seconds: float | None) -> bool:
    """Await ``awaitable`` for at most ``seconds`` (None: no limit); True if it finished in
    time, False if the time ran out (it is then cancelled)."""
    try:
        async with asyncio.timeout(seconds):
            await awaitable
    except TimeoutError:
        return False
    return True
