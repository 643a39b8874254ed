"""The receipt book: each agency's receipts of a day numbered 1, 2, 3, ... across every replica.

One JetStream key-value entry per agency and day (``<agency>.<YYYYMMDD>``, history 1) holds the
last number given; a number is taken with a compare-and-set on that entry's revision, so two
replicas (behind two gateways) never take the same one. The code is then recorded in the
DossierReceived event: rebuilds, backups and restores read it from the log, never from here.
A receipt that fails after taking its number leaves a gap, never a duplicate.

Receipts of one agency-day that arrive while a number is being taken wait, and the next
compare-and-set takes one number for each of them at once (a group commit): under load a
process writes the entry once per batch rather than once per receipt, and the numbers stay
consecutive.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import date

from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from cchc.dossier.domain.receipt_codes import receipt_code
from cchc.runtime.eventstore import EventStore
from cchc.runtime.nats_failures import unavailable_on_nats_failure
from cchc.runtime import kv_buckets

BUCKET = "RECEIPT_NUMBERS"
MAX_ATTEMPTS = 50  # each lost race means another replica took a number meanwhile
MAX_REMEMBERED = 10_000  # agency-days whose last entry this process remembers


@dataclass
class _Queue:
    """One agency-day's receipts waiting for numbers, and the task taking them."""
    waiting: list[asyncio.Future[int]] = field(default_factory=list)
    taking: asyncio.Task[None] | None = None


class ReceiptBook:
    def __init__(self, store: EventStore, replicas: int = 1) -> None:
        self._store = store
        self._replicas = replicas
        self._bucket: KeyValue | None = None
        self._last: dict[str, tuple[int, int]] = {}  # key -> (revision, number) this process wrote
        self._queues: dict[str, _Queue] = {}  # key -> receipts waiting for a number

    async def next_code(self, agency: str, day: date) -> str:
        with unavailable_on_nats_failure("the receipt book"):
            return await self._next_code(agency, day)

    async def _next_code(self, agency: str, day: date) -> str:
        bucket = await self._open()
        key = f"{agency}.{day:%Y%m%d}"
        queue = self._queues.setdefault(key, _Queue())
        number: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        queue.waiting.append(number)
        if queue.taking is None or queue.taking.done():
            queue.taking = asyncio.create_task(self._hand_out(bucket, key, queue))
        return receipt_code(agency, day, await number)

    async def _hand_out(self, bucket: KeyValue, key: str, queue: _Queue) -> None:
        """Takes numbers for the waiting receipts, a batch per compare-and-set, until none wait.
        This process's batches of one key go one at a time: at once, all but one would lose
        the compare-and-set and read again (only an optimisation: the compare-and-set is what
        keeps a number from being given twice, across replicas too)."""
        batch: list[asyncio.Future[int]] = []
        try:
            while queue.waiting:
                batch, queue.waiting = queue.waiting, []
                try:
                    first = await self._take_numbers(bucket, key, len(batch))
                except Exception as error:  # each waiting receipt fails with it, none hangs
                    for number in batch:
                        if not number.done():
                            number.set_exception(error)
                    continue
                for offset, number in enumerate(batch):
                    if not number.done():  # a receipt given up meanwhile leaves a gap
                        number.set_result(first + offset)
            batch = []
        except BaseException:  # cancelled (the service stops): no receipt waits for ever
            for number in batch + queue.waiting:
                number.cancel()
            queue.waiting = []
            raise
        finally:
            queue.taking = None
            if not queue.waiting and self._queues.get(key) is queue:
                del self._queues[key]

    async def _take_numbers(self, bucket: KeyValue, key: str, count: int) -> int:
        """The first of ``count`` consecutive numbers, all taken in one write."""
        for _ in range(MAX_ATTEMPTS):
            # The entry as this process last left it: with one replica writing, no read at all.
            last = self._last.pop(key, None) or await self._read(bucket, key)
            first = (last[1] if last else 0) + 1
            number = first + count - 1
            try:
                if last is None:
                    revision = await bucket.create(key, str(number).encode())
                else:
                    revision = await bucket.update(key, str(number).encode(), last=last[0])
            except KeyWrongLastSequenceError:
                continue  # another replica took a number meanwhile: read again
            if len(self._last) >= MAX_REMEMBERED:
                self._last.clear()
            self._last[key] = (revision, number)
            return first
        raise RuntimeError(f"the receipt book of {key} kept changing")

    @staticmethod
    async def _read(bucket: KeyValue, key: str) -> tuple[int, int] | None:
        try:
            entry = await bucket.get(key)
        except KeyNotFoundError:
            return None
        return entry.revision, int(entry.value or b"0")

    async def _open(self) -> KeyValue:
        if self._bucket is None:
            self._bucket = await kv_buckets.open_bucket(self._store.jetstream, KeyValueConfig(
                bucket=BUCKET, history=1, storage=StorageType.FILE, replicas=self._replicas))
        return self._bucket
