"""The receipt book on a real nats-server: replicas racing for numbers never share one."""

import asyncio
from datetime import date

import nats
import pytest

from cchc.dossier.receipt_book import ReceiptBook
from cchc.runtime.eventstore import EventStore


async def test_two_replicas_racing_hand_out_each_number_once(nats_server):
    connections = [await nats.connect(nats_server.url) for _ in range(2)]
    try:
        books = [ReceiptBook(EventStore(nc)) for nc in connections]
        day = date(2023, 5, 17)
        codes = await asyncio.gather(*(
            books[i % 2].next_code("SRACE", day) for i in range(40)))
        assert sorted(codes) == [f"SRACE-230517-{n:04d}" for n in range(1, 41)]
        # Another day, another agency: each starts again at 1.
        assert await books[0].next_code("SRACE", date(2023, 5, 18)) == "SRACE-230518-0001"
        assert await books[1].next_code("SOTHER", day) == "SOTHER-230517-0001"
    finally:
        for nc in connections:
            await nc.close()


async def test_a_bucket_that_does_not_answer_is_unavailable_and_the_next_number_follows(nc):
    """While the bucket's stream has no leader the compare-and-set finds no responders: the
    receipt is refused as unavailable (503, try again), and no number is handed out twice."""
    from nats.errors import NoRespondersError

    from cchc.runtime.domain_errors import Unavailable

    book = ReceiptBook(EventStore(nc))
    day = date(2023, 6, 1)
    assert await book.next_code("SMOVE", day) == "SMOVE-230601-0001"
    bucket = await book._open()

    class LeaderMoving:
        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(bucket, name)

        async def update(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            raise NoRespondersError

    book._bucket = LeaderMoving()  # type: ignore[assignment]
    with pytest.raises(Unavailable):
        await book.next_code("SMOVE", day)
    book._bucket = bucket
    assert await book.next_code("SMOVE", day) == "SMOVE-230601-0002"


async def test_one_process_racing_itself_takes_numbers_in_batches(nc):
    """Twenty receipts of one agency-day at once in one process: the numbers are taken in
    batches, one write to the bucket each, and no compare-and-set is lost to read again."""
    book = ReceiptBook(EventStore(nc))
    bucket = await book._open()
    writes: list[str] = []

    class Counting:
        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(bucket, name)

        async def create(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            writes.append("create")
            return await bucket.create(*args, **kwargs)

        async def update(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            writes.append("update")
            return await bucket.update(*args, **kwargs)

    book._bucket = Counting()  # type: ignore[assignment]
    day = date(2023, 7, 3)
    codes = await asyncio.gather(*(book.next_code("SSELF", day) for _ in range(20)))
    assert sorted(codes) == [f"SSELF-230703-{n:04d}" for n in range(1, 21)]
    assert writes == ["create"]  # all twenty were waiting when the first write went
    # Receipts arriving while a batch is being written make the next batch.
    first = asyncio.ensure_future(book.next_code("SSELF", day))
    await asyncio.sleep(0)  # its write is under way
    later = await asyncio.gather(*(book.next_code("SSELF", day) for _ in range(5)))
    assert await first == "SSELF-230703-0021"
    assert sorted(later) == [f"SSELF-230703-{n:04d}" for n in range(22, 27)]
    assert writes == ["create", "update", "update"]
    assert (await bucket.get("SSELF.20230703")).value == b"26"


async def test_a_receipt_given_up_while_waiting_leaves_a_gap_and_the_others_go_on(nc):
    book = ReceiptBook(EventStore(nc))
    await book._open()
    day = date(2023, 7, 4)
    waiting = [asyncio.ensure_future(book.next_code("SGAP", day)) for _ in range(3)]
    await asyncio.sleep(0)
    waiting[1].cancel()
    assert await waiting[0] == "SGAP-230704-0001"
    assert await waiting[2] == "SGAP-230704-0003"
    assert await book.next_code("SGAP", day) == "SGAP-230704-0004"


async def test_numbering_cancelled_midway_leaves_no_receipt_waiting(nc):
    """The task taking numbers is cancelled while its write is under way (the service stops):
    the receipts waiting for it are cancelled too, and the next receipt is numbered afresh."""
    book = ReceiptBook(EventStore(nc))
    bucket = await book._open()
    held = asyncio.Event()

    class Slow:
        def __getattr__(self, name):  # type: ignore[no-untyped-def]
            return getattr(bucket, name)

        async def create(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            held.set()
            await asyncio.sleep(3600)

    book._bucket = Slow()  # type: ignore[assignment]
    day = date(2023, 7, 5)
    waiting = [asyncio.ensure_future(book.next_code("SSTOP", day)) for _ in range(3)]
    await held.wait()
    later = asyncio.ensure_future(book.next_code("SSTOP", day))  # waits for the next batch
    await asyncio.sleep(0)
    book._queues["SSTOP.20230705"].taking.cancel()  # type: ignore[union-attr]
    for receipt in [*waiting, later]:
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(receipt, 5)
    book._bucket = bucket
    assert await book.next_code("SSTOP", day) == "SSTOP-230705-0001"
