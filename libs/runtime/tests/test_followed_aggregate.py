"""A followed aggregate (the working calendar): read once, then kept current by the log."""

import asyncio
from datetime import UTC, date, datetime

import pytest

from cchc.contracts.dossier import CalendarDayDeclared, DayKind
from cchc.runtime import followed_aggregate
from cchc.runtime.command_loop import AggregateKind
from cchc.runtime.eventstore import EventStore, Metadata
from cchc.runtime.followed_aggregate import FollowedAggregate
from cchc.runtime.ids import new_id
from cchc.runtime.streams import ensure_event_stream
from cchc.runtime.testing import LaggingReplica

NOW = datetime(2022, 7, 15, 9, 0, tzinfo=UTC)
DAYS = AggregateKind[dict]("calendar", lambda state, event: {**(state or {}), event.date: event.kind},
                           lambda state, envelope: {}, agency_of=lambda *_: "_province")


class CountingReads(EventStore):
    reads = 0

    async def load(self, context: str, aggregate_id: str, consistent: bool = False):
        self.reads += 1
        return await super().load(context, aggregate_id, consistent=consistent)


async def declare(store: EventStore, aggregate: str, day: int) -> None:
    history = await store.load("dossier", aggregate)
    await store.append(history, CalendarDayDeclared(date=date(2022, 5, day), kind=DayKind.DAY_OFF,
                                                    note="test"),
                       agency="_province", occurred_at=NOW,
                       meta=Metadata(actor="tester", correlation_id="c"))


async def eventually(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "not within the timeout"
        await asyncio.sleep(0.01)


@pytest.fixture
async def stores(nc):
    await ensure_event_stream(nc.jetstream(), "dossier")
    return CountingReads(nc), EventStore(nc)


async def test_another_writers_event_reaches_the_state_without_a_read(stores):
    reader, other_replica = stores
    aggregate = new_id()
    await declare(other_replica, aggregate, 1)
    followed = FollowedAggregate(reader, "dossier", aggregate, DAYS)
    try:
        assert await followed.state() == {date(2022, 5, 1): DayKind.DAY_OFF}
        reads = reader.reads
        await declare(other_replica, aggregate, 2)

        async def has_both() -> bool:
            return len(await followed.state() or {}) == 2
        await eventually(has_both)
        assert reader.reads == reads  # delivered by the consumer, not read again
    finally:
        await followed.close()


async def test_forget_reads_the_log_again(stores):
    reader, _ = stores
    aggregate = new_id()
    followed = FollowedAggregate(reader, "dossier", aggregate, DAYS)
    try:
        assert await followed.state() is None
        await declare(reader, aggregate, 3)  # this process's own append
        followed.forget()
        assert await followed.state() == {date(2022, 5, 3): DayKind.DAY_OFF}
    finally:
        await followed.close()


async def test_a_silent_follow_is_given_up_and_read_again(stores, monkeypatch):
    reader, other_replica = stores
    aggregate = new_id()
    followed = FollowedAggregate(reader, "dossier", aggregate, DAYS)
    try:
        await followed.state()
        await followed._stop_following()  # as if the consumer were lost: nothing arrives now
        await declare(other_replica, aggregate, 4)
        monkeypatch.setattr(followed_aggregate, "SILENT_AFTER_S", 0.05)
        await asyncio.sleep(0.1)
        assert await followed.state() == {date(2022, 5, 4): DayKind.DAY_OFF}
    finally:
        await followed.close()


async def test_after_its_own_append_the_state_is_read_from_the_leader(nc):
    """On an R3 stream the fast read may come from a follower without the declaration this
    process just appended: the calendar a receipt reads next must have it."""
    await ensure_event_stream(nc.jetstream(), "dossier")
    store = LaggingReplica(nc)
    aggregate = new_id()
    followed = FollowedAggregate(store, "dossier", aggregate, DAYS)
    try:
        assert await followed.state() is None
        await declare(store, aggregate, 4)
        followed.forget()
        assert await followed.state() == {date(2022, 5, 4): DayKind.DAY_OFF}
    finally:
        await followed.close()
