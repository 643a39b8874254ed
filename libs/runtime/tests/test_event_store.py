"""The event store against a real nats-server: concurrency, de-duplication, hash chain, reads."""

import asyncio
from datetime import UTC, date, datetime

import pytest

from cchc.contracts.dossier import CalendarDayDeclared, DayKind
from cchc.contracts.envelope import verify_chain
from cchc.runtime.eventstore import AggregateHistory, ConcurrencyConflict, EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.streams import ensure_event_stream, event_stream_config
from cchc.runtime.testing import LaggingReplica

NOW = datetime(2022, 7, 15, 9, 0, tzinfo=UTC)


def declared(day: int) -> CalendarDayDeclared:
    return CalendarDayDeclared(date=date(2022, 5, day), kind=DayKind.DAY_OFF, note="test")


@pytest.fixture
async def store(nc):
    await ensure_event_stream(nc.jetstream(), "dossier")
    return EventStore(nc)


async def append(store: EventStore, history: AggregateHistory, day: int = 2, event_id=None):
    return await store.append(
        history, declared(day), agency="_province", occurred_at=NOW,
        meta=Metadata(actor="tester", correlation_id="c", event_id=event_id),
    )


async def test_concurrent_writers_on_one_aggregate_exactly_one_wins(store):
    aggregate = new_id()
    history = await store.load("dossier", aggregate)
    results = await asyncio.gather(
        *(append(store, history, day) for day in range(1, 13)), return_exceptions=True
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, ConcurrencyConflict) for r in results if r not in winners)
    assert (await store.load("dossier", aggregate)).version == 1


async def test_a_retried_event_id_is_stored_once(store):
    aggregate = new_id()
    history = await store.load("dossier", aggregate)
    first = await append(store, history, event_id="evt-1")
    again = await append(store, history, event_id="evt-1")  # stale expectation, same id
    assert not first.duplicate and again.duplicate
    assert again.position == first.position
    assert (await store.load("dossier", aggregate)).version == 1


async def test_history_reads_back_in_order_with_a_valid_hash_chain(store):
    aggregate = new_id()
    history = await store.load("dossier", aggregate)
    for day in (1, 2, 3):
        history = history.followed_by((await append(store, history, day)).envelope)
    loaded = await store.load("dossier", aggregate)
    assert [e.payload["date"] for e in loaded.envelopes] == ["2022-05-01", "2022-05-02", "2022-05-03"]
    assert [e.aggregate_version for e in loaded.envelopes] == [1, 2, 3]
    assert loaded == await store.load("dossier", aggregate, consistent=True)
    valid, head, broken = verify_chain(loaded.envelopes)
    assert valid and head == loaded.head_hash and broken is None


async def test_a_rewritten_event_breaks_the_chain(store):
    aggregate = new_id()
    history = await store.load("dossier", aggregate)
    for day in (1, 2):
        history = history.followed_by((await append(store, history, day)).envelope)
    tampered = history.envelopes[0].model_copy(update={"payload": {"date": "2022-05-09"}})
    valid, _, broken = verify_chain([tampered, history.envelopes[1]])
    assert not valid and broken == 0


async def test_read_after_pages_through_the_log(store):
    start = await store.last_position("dossier")
    history = AggregateHistory("dossier", new_id())
    for day in range(1, 8):
        history = history.followed_by((await append(store, history, day)).envelope)
    page = await store.read_after("dossier", start, 5)
    rest = await store.read_after("dossier", page[-1].position, 100)
    assert [e.position for e in page + rest] == list(range(start + 1, start + 8))


def test_the_stream_never_discards_events():
    config = event_stream_config("dossier")
    assert (config.max_msgs, config.max_bytes, config.max_age, config.max_msgs_per_subject) == (
        -1, -1, 0, -1,
    )
    assert config.discard.value == "new" and config.deny_delete
    # Purges are allowed (archived years leave the stream), to ops alone: tests/test_nats_auth.py
    assert not config.deny_purge


async def test_an_existing_stream_config_is_left_alone(nc):
    js = nc.jetstream()
    await ensure_event_stream(js, "planning")
    await ensure_event_stream(js, "planning")  # a second replica starting
    info = await js.stream_info("PLANNING")
    assert info.config.duplicate_window == 3600


async def test_an_older_nats_server_is_refused(tmp_path):
    """A server before 2.11 would ignore the per-aggregate concurrency check; never use one."""
    import nats

    from cchc.runtime.streams import UnsupportedServer, require_supported_server

    try:
        old = await nats.connect("nats://127.0.0.1:4222", connect_timeout=1, max_reconnect_attempts=0)
    except Exception:  # noqa: BLE001 - no old server on this machine: fake its version instead
        old = None
    if old is not None and old.connected_server_version.minor < 11 and old.connected_server_version.major == 2:
        with pytest.raises(UnsupportedServer):
            await ensure_event_stream(old.jetstream(), "dossier")
        await old.close()

    class Version:
        major, minor, patch = 2, 9, 10

    class OldClient:
        connected_server_version = Version()

    with pytest.raises(UnsupportedServer, match="2.9.10"):
        require_supported_server(OldClient())  # type: ignore[arg-type]


async def test_a_command_on_a_just_written_aggregate_asks_the_leader_before_a_404(store, nc):
    """On an R3 stream a direct get may come from a follower that lags: the command loop must
    not answer 404 (or 412) from it (seen in containers on the cluster profile)."""
    from cchc.contracts.messages import CommandMeta, Principal, Request, Role
    from cchc.runtime.command_loop import AggregateKind, CommandLoop

    aggregate = new_id()
    await append(store, await store.load("dossier", aggregate), day=3)
    kind = AggregateKind(name="calendar day", evolve=lambda state, event: event,
                         answer=lambda state, envelope: {"day": str(state.date)},
                         agency_of=lambda state, event: "_province")
    loop = CommandLoop(LaggingReplica(nc), "dossier")
    request = Request(meta=CommandMeta(principal=Principal(sub="t", role=Role.ADMIN),
                                       correlation_id="c", expected_version=1), body={})
    reply = await loop.change(request, kind, aggregate, lambda state: declared(4),
                              lambda principal, state: None)
    assert reply.ok and reply.version == 2


class CountingReads(EventStore):
    """An event store that counts the histories it reads."""

    reads = 0

    async def load(self, context: str, aggregate_id: str, consistent: bool = False):
        self.reads += 1
        return await super().load(context, aggregate_id, consistent=consistent)


async def test_a_creation_under_a_fresh_id_reads_no_history_and_still_refuses_a_twin(store, nc):
    """A fresh id (no idempotency key) has no history to read; the append's expectation (the id
    unused under every agency) is what keeps a second aggregate of that id out."""
    from cchc.contracts.messages import CommandMeta, Principal, Request, Role
    from cchc.runtime.command_loop import AggregateKind, CommandLoop
    from cchc.runtime.domain_errors import Conflict

    kind = AggregateKind(name="calendar day", evolve=lambda state, event: event,
                         answer=lambda state, envelope: {"day": str(state.date)},
                         agency_of=lambda state, event: "_province")
    counting = CountingReads(nc)
    loop = CommandLoop(counting, "dossier")
    request = Request(meta=CommandMeta(principal=Principal(sub="t", role=Role.ADMIN),
                                       correlation_id="c"), body={})
    aggregate = new_id()
    reply = await loop.create(request, kind, aggregate, lambda state: declared(5), fresh_id=True)
    assert reply.ok and reply.version == 1 and counting.reads == 0
    with pytest.raises(Conflict):  # the same id again: the log refuses it, then it is read
        await loop.create(request, kind, aggregate, lambda state: declared(6), fresh_id=True)
    assert (await store.load("dossier", aggregate)).version == 1
