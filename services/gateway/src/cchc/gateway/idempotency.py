"""Idempotency-Key records: the first answer to a command, replayed for a retry.

Records live in a JetStream key-value bucket (shared by every gateway replica) for a day. The
key the service sees is derived from the caller, the route and the client's key, so the service
derives the same event id (and new aggregate id) for a retry, and two concurrent twins still
write once.
"""

import hashlib
from typing import Any

from nats.js.client import JetStreamContext
from nats.js.errors import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue
from pydantic import BaseModel

from cchc.contracts.envelope import canonical_json

BUCKET = "IDEMPOTENCY"


class StoredAnswer(BaseModel):
    request_hash: str
    status: int
    headers: dict[str, str]
    body: Any


def record_key(sub: str, method: str, path: str, client_key: str) -> str:
    digest = hashlib.sha256("\x1f".join((sub, method, path, client_key)).encode()).hexdigest()
    return digest


def request_hash(body: Any) -> str:
    return hashlib.sha256(canonical_json(body)).hexdigest()


async def open_bucket(js: JetStreamContext, ttl_s: int) -> KeyValue:
    try:
        return await js.key_value(BUCKET)
    except BucketNotFoundError:
        from nats.js.api import KeyValueConfig

        return await js.create_key_value(KeyValueConfig(bucket=BUCKET, ttl=ttl_s, history=1))


class IdempotencyStore:
    def __init__(self, bucket: KeyValue) -> None:
        self.bucket = bucket

    async def get(self, key: str) -> StoredAnswer | None:
        try:
            entry = await self.bucket.get(key)
        except KeyNotFoundError:
            return None
        if entry.value is None:
            return None
        return StoredAnswer.model_validate_json(entry.value)

    async def put_first(self, key: str, answer: StoredAnswer) -> StoredAnswer:
        """Store the answer unless a concurrent twin stored one first; return the stored one."""
        try:
            await self.bucket.create(key, answer.model_dump_json().encode())
        except KeyWrongLastSequenceError:
            return await self.get(key) or answer
        return answer
