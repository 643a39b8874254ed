"""The receipt book: each agency's receipts of a day numbered 1, 2, 3, ... across every replica.

One JetStream key-value entry per agency and day (``<agency>.<YYYYMMDD>``, history 1) holds the
last number given; a number is taken with a compare-and-set on that entry's revision, so two
replicas (behind two gateways) never take the same one. The code is then recorded in the
DossierReceived event: rebuilds, backups and restores read it from the log, never from here.
A receipt that fails after taking its number leaves a gap, never a duplicate.
"""

import asyncio
from datetime import date

from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from cchc.dossier.domain.receipt_codes import receipt_code
from cchc.runtime.eventstore import EventStore
from cchc.runtime.nats_failures import unavailable_on_nats_failure

BUCKET = "RECEIPT_NUMBERS"
MAX_ATTEMPTS = 50  # each lost race means another replica took a number meanwhile
MAX_REMEMBERED = 10_000  # agency-days whose last entry this process remembers


class ReceiptBook:
    def __init__(self, store: EventStore, replicas: int = 1) -> None:
        self._store = store
        self._replicas = replicas
        self._bucket: KeyValue | None = None
        self._last: dict[str, tuple[int, int]] = {}  # key -> (revision, number) this process wrote
        self._turns: dict[str, asyncio.Lock] = {}  # key -> this process's numbering of it

    async def next_code(self, agency: str, day: date) -> str:
        with unavailable_on_nats_failure("the receipt book"):
            return await self._next_code(agency, day)

    async def _next_code(self, agency: str, day: date) -> str:
        bucket = await self._open()
        key = f"{agency}.{day:%Y%m%d}"
        # This process's receipts of one agency-day take their numbers one at a time: at once,
        # all but one would read the entry, lose the compare-and-set and try again (16 clients
        # at once made 2.25 updates per number). Only an optimisation: the compare-and-set is
        # what keeps a number from being given twice, across replicas too.
        async with self._turn(key):
            return await self._take_number(bucket, agency, day, key)

    def _turn(self, key: str) -> asyncio.Lock:
        if len(self._turns) >= MAX_REMEMBERED:
            self._turns = {k: lock for k, lock in self._turns.items() if lock.locked()}
        return self._turns.setdefault(key, asyncio.Lock())

    async def _take_number(self, bucket: KeyValue, agency: str, day: date, key: str) -> str:
        for _ in range(MAX_ATTEMPTS):
            # The entry as this process last left it: with one replica writing, no read at all.
            last = self._last.pop(key, None) or await self._read(bucket, key)
            number = (last[1] if last else 0) + 1
            try:
                if last is None:
                    revision = await bucket.create(key, b"1")
                else:
                    revision = await bucket.update(key, str(number).encode(), last=last[0])
            except KeyWrongLastSequenceError:
                continue  # another replica took a number meanwhile: read again
            if len(self._last) >= MAX_REMEMBERED:
                self._last.clear()
            self._last[key] = (revision, number)
            return receipt_code(agency, day, number)
        raise RuntimeError(f"the receipt book of {agency} on {day} kept changing")

    @staticmethod
    async def _read(bucket: KeyValue, key: str) -> tuple[int, int] | None:
        try:
            entry = await bucket.get(key)
        except KeyNotFoundError:
            return None
        return entry.revision, int(entry.value or b"0")

    async def _open(self) -> KeyValue:
        if self._bucket is None:
            try:
                self._bucket = await self._store.jetstream.key_value(BUCKET)
            except BucketNotFoundError:
                # Creating an existing bucket with the same config succeeds: replicas may race.
                self._bucket = await self._store.jetstream.create_key_value(KeyValueConfig(
                    bucket=BUCKET, history=1, storage=StorageType.FILE,
                    replicas=self._replicas))
        return self._bucket
