"""The pull feed against a real nats-server: order, batches, waiting, acknowledgement."""

import asyncio

import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from cchc.runtime.ids import new_id
from cchc.runtime.pullfeed import PullFeed, ack_numbers
from cchc.runtime.waiting import wait_at_most


def test_sequence_and_pending_are_read_from_both_forms_of_ack_subject():
    assert ack_numbers("$JS.ACK.DOSSIER.c.1.42.7.1795597736842117954.5") == (42, 5)
    assert ack_numbers("$JS.ACK.hub.ACCHASH.DOSSIER.c.1.43.7.1795597736842117954.6.rnd") == (43, 6)


async def make_stream(nc, count: int, ack_wait: float = 30) -> tuple[str, str]:
    js = nc.jetstream()
    stream = f"FEED{new_id()[-12:].upper()}"
    await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
    for i in range(count):
        await js.publish(f"{stream.lower()}.e{i}", str(i).encode(), stream=stream)
    consumer = "c"
    await js.add_consumer(stream, ConsumerConfig(
        durable_name=consumer, deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.ALL,
        max_ack_pending=40, ack_wait=ack_wait,
    ))
    return stream, consumer


async def test_batches_come_in_log_order_and_the_next_is_on_its_way(nc):
    stream, consumer = await make_stream(nc, 95)
    feed = PullFeed(nc, stream, consumer, batch=10, expires_s=1.0)
    await feed.start()
    seen: list[int] = []
    while len(seen) < 95:
        batch = await feed.take(timeout=2.0)
        assert batch and len(batch) <= 10
        seen += [int(m.data) for m in batch]
        assert [m.position for m in batch] == [int(m.data) + 1 for m in batch]
        await feed.acknowledge(batch[-1])
        await asyncio.sleep(0.02)  # "applying": the next batch arrives meanwhile
        if len(seen) < 95:
            assert feed._buffer, "the next batch was not requested ahead"
    assert seen == list(range(95))
    assert await feed.take(timeout=0.3) == []  # the log's end: nothing, after the timeout
    info = await nc.jetstream().consumer_info(stream, consumer)
    assert info.ack_floor.stream_seq == 95 and info.num_ack_pending == 0
    await feed.stop()


async def test_a_waiting_feed_gets_a_new_event_at_once_and_after_its_request_expired(nc):
    stream, consumer = await make_stream(nc, 0)
    js = nc.jetstream()
    feed = PullFeed(nc, stream, consumer, batch=10, expires_s=0.3)
    await feed.start()
    assert await feed.take(timeout=0.8) == []  # at least one request expired (408) meanwhile
    waiting = asyncio.create_task(feed.take(timeout=5.0))
    await asyncio.sleep(0.7)  # past the expiry of the request this take sent: it asks again
    loop = asyncio.get_running_loop()
    published = loop.time()
    await js.publish(f"{stream.lower()}.late", b"0", stream=stream)
    batch = await waiting
    assert [m.data for m in batch] == [b"0"] and loop.time() - published < 0.5
    await feed.stop()


async def test_a_woken_feed_ends_its_wait_at_once_and_waits_no_more(nc):
    stream, consumer = await make_stream(nc, 0)
    feed = PullFeed(nc, stream, consumer, batch=10, expires_s=1.0)
    await feed.start()
    waiting = asyncio.create_task(feed.take(timeout=30.0))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    feed.wake()  # the runner is stopping
    assert await wait_at_most(waiting, 5.0), "the take sat out its timeout"
    assert waiting.result() == []
    assert await wait_at_most(feed.take(timeout=30.0), 5.0)
    await feed.stop()


async def test_what_was_taken_but_not_acknowledged_comes_again(nc):
    stream, consumer = await make_stream(nc, 5, ack_wait=0.5)
    feed = PullFeed(nc, stream, consumer, batch=10, expires_s=1.0)
    await feed.start()
    first = await feed.take(timeout=2.0)
    assert [int(m.data) for m in first] == [0, 1, 2, 3, 4]
    await feed.stop()  # a crash before the batch was applied: no acknowledgement
    again = PullFeed(nc, stream, consumer, batch=10, expires_s=1.0)
    await again.start()
    # Each message's ack wait ends on its own timer: they may come again over more than one
    # batch (CI once had [0, 1] first), but all of them, in order.
    redelivered: list[int] = []
    for _ in range(5):
        redelivered += [int(m.data) for m in await again.take(timeout=3.0)]
        if len(redelivered) >= 5:
            break
    assert redelivered == [0, 1, 2, 3, 4]
    await again.stop()


@pytest.mark.parametrize("batch", [1, 7])
async def test_any_batch_size_delivers_everything_once(nc, batch):
    stream, consumer = await make_stream(nc, 23)
    feed = PullFeed(nc, stream, consumer, batch=batch, expires_s=1.0)
    await feed.start()
    seen: list[int] = []
    while len(seen) < 23:
        taken = await feed.take(timeout=2.0)
        assert taken
        seen += [int(m.data) for m in taken]
        await feed.acknowledge(taken[-1])
    assert seen == list(range(23))
    await feed.stop()
