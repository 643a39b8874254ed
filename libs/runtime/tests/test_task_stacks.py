"""Where each task waits: the whole chain of awaits, not only the outermost coroutine."""

import asyncio

from cchc.runtime.task_stacks import awaited_chain, describe_tasks


async def _innermost(ready: asyncio.Event) -> None:
    await ready.wait()


async def _middle(ready: asyncio.Event) -> None:
    await _innermost(ready)


async def test_a_waiting_task_shows_each_coroutine_down_to_what_it_waits_on() -> None:
    ready = asyncio.Event()
    task = asyncio.create_task(_middle(ready), name="the-waiter")
    await asyncio.sleep(0)  # let it reach its wait
    try:
        chain = awaited_chain(task)
        assert chain[0].startswith("_middle (test_task_stacks.py:")
        assert chain[1].startswith("_innermost (test_task_stacks.py:")
        assert chain[2].startswith("Event.wait (locks.py:")
        assert chain[-1].startswith("<Future pending")
        assert "the-waiter: _middle" in describe_tasks()
    finally:
        ready.set()
        await task


async def test_a_finished_task_is_named_without_a_chain() -> None:
    task = asyncio.create_task(asyncio.sleep(0), name="done-already")
    await task
    assert awaited_chain(task) == []  # nothing left to wait on
    assert "done-already" not in describe_tasks()  # all_tasks holds only unfinished ones
