"""The collector paused for replay batches: back on once the last batch under way ends, and
never turned on by them when something else had turned it off."""

import asyncio
import gc

import pytest

from cchc.runtime.heap import collector_paused


@pytest.fixture(autouse=True)
def collector_on():  # type: ignore[no-untyped-def]
    gc.enable()
    yield
    gc.enable()


def test_paused_during_the_batch_and_on_after_it_even_when_it_fails() -> None:
    with pytest.raises(RuntimeError):
        with collector_paused():
            assert not gc.isenabled()
            raise RuntimeError("the batch failed")
    assert gc.isenabled()


async def test_two_projections_replaying_at_once_keep_it_paused_until_the_last_ends() -> None:
    first_in, second_done = asyncio.Event(), asyncio.Event()
    seen: list[bool] = []

    async def first() -> None:
        with collector_paused():
            first_in.set()
            await second_done.wait()  # the second batch starts and ends meanwhile
            seen.append(gc.isenabled())

    async def second() -> None:
        await first_in.wait()
        with collector_paused():
            seen.append(gc.isenabled())
        seen.append(gc.isenabled())  # the first batch is still under way
        second_done.set()

    await asyncio.gather(first(), second())
    assert seen == [False, False, False]
    assert gc.isenabled()


def test_a_collector_turned_off_before_stays_off() -> None:
    gc.disable()
    with collector_paused():
        assert not gc.isenabled()
    assert not gc.isenabled()
