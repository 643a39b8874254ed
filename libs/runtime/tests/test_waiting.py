"""A wait with a time limit never keeps a task from being cancelled."""

import asyncio

from cchc.runtime.waiting import cancel_and_wait, wait_at_most


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


async def test_a_task_that_swallowed_its_cancel_is_cancelled_again_until_it_ends() -> None:
    """As a task does when a library's ``wait_for`` swallows the cancel: it goes on. One
    cancel, then waiting for it, would wait for ever."""
    swallowed: list[int] = []

    async def goes_on_after_one_cancel() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed.append(1)

    task = asyncio.create_task(goes_on_after_one_cancel())
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.wait([task], timeout=0.3)
    assert not task.done()  # the first cancel was not the end of it
    assert await cancel_and_wait(task)
    assert task.cancelled() and swallowed == [1]


async def test_an_ended_task_s_failure_is_taken_and_a_task_that_never_ends_is_given_up() -> None:
    async def fails() -> None:
        raise RuntimeError("boom")

    let_go = asyncio.Event()

    async def ignores_every_cancel_until_let_go() -> None:
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if let_go.is_set():
                    raise

    failed = asyncio.create_task(fails())
    await asyncio.sleep(0)
    stubborn = asyncio.create_task(ignores_every_cancel_until_let_go())
    await asyncio.sleep(0)
    assert not await cancel_and_wait(failed, stubborn, give_up_after_s=0.3)
    assert failed.done() and not stubborn.done()
    assert failed._log_traceback is False  # taken: no "exception was never retrieved"
    let_go.set()
    assert await cancel_and_wait(stubborn)
