"""Idempotency-Key records: the first answer to a command, replayed for a retry.

Records live in a JetStream key-value bucket shared by every gateway replica, for
``idempotency_ttl_s``. The record key is derived from the caller, the route and the client's key;
the service receives it as ``meta.idempotency_key`` and derives the event id (and a new
aggregate's id) from it, so two concurrent twins still write once: the log de-duplicates them and
``kv.create`` lets only the first answer in.
"""

import hashlib
import logging
from typing import Any

from nats.errors import Error as NatsError
from nats.js.api import KeyValueConfig, StorageType
from nats.js.client import JetStreamContext
from nats.js.errors import (
    KeyDeletedError,
    KeyNotFoundError,
    KeyWrongLastSequenceError,
)
from nats.js.kv import KeyValue
from pydantic import BaseModel

from cchc.contracts.envelope import canonical_json
from cchc.contracts.messages import Principal
from cchc.runtime import kv_buckets

BUCKET = "IDEMPOTENCY"

log = logging.getLogger("cchc.gateway.idempotency")
# Headers of a command's answer worth replaying; the rest (date, length) belong to each answer.
REPLAYED_HEADERS = ("ETag", "X-Event-Position", "Location")


class IdempotencyUnavailable(Exception):
    """The bucket could not be read or written (JetStream down or lost quorum)."""


class StoredAnswer(BaseModel):
    request_hash: str
    status: int
    headers: dict[str, str]
    body: Any


def record_key(caller: Principal, method: str, path: str, client_key: str) -> str:
    """The record of one caller's key: the whole principal (sub, role, agency), so that nobody
    else's reuse of the key can reach it. Another caller's request with the same key goes on to
    the service, which authorizes it and answers what that caller's own request deserves."""
    # Hashed: a client key may hold characters a KV key may not, and the caller's name
    # should not be readable from the bucket.
    parts = (caller.sub, caller.role.value, caller.agency or "", method, path, client_key)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def request_hash(body: Any) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


async def open_bucket(js: JetStreamContext, ttl_s: int, replicas: int = 1) -> KeyValue:
    return await kv_buckets.open_bucket(js, KeyValueConfig(
        bucket=BUCKET, ttl=ttl_s, history=1, storage=StorageType.FILE, replicas=replicas))


def _unavailable(doing: str, error: BaseException) -> "IdempotencyUnavailable":
    """The 503's cause, in the log: the answer itself says only "try again"."""
    log.warning("idempotency record: %s failed: %s: %s", doing, type(error).__name__, error)
    return IdempotencyUnavailable(str(error))


class IdempotencyStore:
    def __init__(self, bucket: KeyValue) -> None:
        self._bucket = bucket

    async def get(self, key: str) -> StoredAnswer | None:
        try:
            entry = await self._bucket.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None
        except (NatsError, TimeoutError) as error:
            raise _unavailable("read", error) from error
        if not entry.value:
            return None
        return StoredAnswer.model_validate_json(entry.value)

    async def get_revision(self, key: str) -> tuple[StoredAnswer | None, int]:
        """The record and its revision, for ``replace``; (None, 0) when there is none."""
        try:
            entry = await self._bucket.get(key)
        except (KeyNotFoundError, KeyDeletedError):
            return None, 0
        except (NatsError, TimeoutError) as error:
            raise _unavailable("read", error) from error
        if not entry.value:
            return None, 0
        return StoredAnswer.model_validate_json(entry.value), entry.revision or 0

    async def replace(self, key: str, answer: StoredAnswer, revision: int) -> int | None:
        """Store ``answer`` if the record is still at ``revision`` (0: there is none); its new
        revision, or None when someone wrote it since."""
        data = answer.model_dump_json().encode()
        try:
            if revision:
                return await self._bucket.update(key, data, last=revision)
            return await self._bucket.create(key, data)
        except KeyWrongLastSequenceError:
            return None
        except (NatsError, TimeoutError) as error:
            raise _unavailable("write", error) from error

    async def put_first(self, key: str, answer: StoredAnswer) -> StoredAnswer:
        """Store the answer unless a concurrent twin stored one first; return the stored one."""
        try:
            await self._bucket.create(key, answer.model_dump_json().encode())
        except KeyWrongLastSequenceError:
            return await self.get(key) or answer
        except (NatsError, TimeoutError) as error:
            raise _unavailable("write", error) from error
        return answer
