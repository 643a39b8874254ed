"""A wait with a time limit never keeps a task from being cancelled."""

import asyncio

from cchc.runtime.waiting import wait_at_most


async def test_it_tells_whether_the_wait_ended_in_time() -> None:
    done = asyncio.Event()
    assert not await wait_at_most(done.wait(), 0.01)
    done.set()
    assert await wait_at_most(done.wait(), 0.01)
    assert await wait_at_most(done.wait(), None)


async def test_a_cancel_that_comes_as_the_wait_ends_stops_the_task() -> None:
    """The loop of a service waits for its stop between rounds. Its task is cancelled in the
    same turn of the loop as the stop is set: Python 3.11's wait_for returned normally there
    and the loop went on (python/cpython#86296)."""
    stop = asyncio.Event()
    rounds: list[int] = []

    async def loop() -> None:
        while True:
            await wait_at_most(stop.wait(), 10)
            rounds.append(1)
            await asyncio.sleep(10)

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # the loop is waiting
    stop.set()
    task.cancel()
    await asyncio.wait([task], timeout=1.0)
    assert rounds == []  # the stop was never taken for a round's end
    assert task.cancelled()
