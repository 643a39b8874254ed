"""Revoked tokens: by ``jti`` (that token) or by subject (every token of that subject issued up
to the revocation time).

Kept in the JetStream key-value bucket REVOCATIONS, shared by every gateway replica. Each replica
watches the bucket and holds what it says in memory, so a revocation made through one replica is
honoured by all within the watcher's delivery time (milliseconds; seconds at worst while NATS
reconnects). Keys are ``jti.<sha256>`` and ``sub.<sha256>`` (a jti or a subject may hold
characters a key may not); the value says what was revoked, when and by whom. Entries are kept:
a subject revocation refuses old tokens for ever, a jti one is useless after the token's expiry
but costs a few bytes.
"""

import asyncio
import contextlib
import hashlib
import logging
import time
from typing import Literal

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js.api import KeyValueConfig, StorageType
from nats.js.kv import KV_DEL, KV_PURGE, KeyValue
from pydantic import BaseModel, Field, ValidationError

from cchc.runtime import kv_buckets
from cchc.runtime.waiting import cancel_and_wait, wait_at_most

log = logging.getLogger("cchc.gateway.revocation")

BUCKET = "REVOCATIONS"
RESTART_DELAY_S = 1.0


class RevocationsUnavailable(Exception):
    """The bucket could not be written (JetStream down or lost quorum)."""


class Revocation(BaseModel):
    kind: Literal["jti", "sub"] = Field(description="a single token (jti) or a subject's tokens")
    value: str = Field(description="the jti or the subject")
    revoked_at: float = Field(description="Unix time; a subject's tokens issued until then are "
                                          "refused")
    revoked_by: str = Field(description="the sub of the admin who revoked")
    reason: str | None = None


def key_of(kind: str, value: str) -> str:
    return f"{kind}.{hashlib.sha256(value.encode()).hexdigest()}"


async def open_bucket(nc: NATS, replicas: int = 1) -> KeyValue:
    return await kv_buckets.open_bucket(nc.jetstream(), KeyValueConfig(
        bucket=BUCKET, history=1, storage=StorageType.FILE, replicas=replicas))


class RevocationList:
    """The bucket as this replica knows it; ``start()`` loads it and follows it."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self._entries: dict[str, Revocation] = {}
        self._task: asyncio.Task | None = None
        self._loaded = asyncio.Event()

    @classmethod
    async def start(cls, nc: NATS, wait_s: float = 5.0, replicas: int = 1) -> "RevocationList":
        revocations = cls(await open_bucket(nc, replicas))
        revocations._task = asyncio.create_task(revocations._follow(), name="revocations-watch")
        if not await wait_at_most(revocations._loaded.wait(), wait_s):
            log.warning("the revocation list was not loaded within %.1f s; following it", wait_s)
        return revocations

    async def close(self) -> None:
        if self._task is not None:
            await cancel_and_wait(self._task)
            self._task = None

    async def _follow(self) -> None:
        while True:
            watcher = None
            try:
                watcher = await self._kv.watchall()
                async for entry in watcher:
                    if entry is None:  # everything there was has been delivered
                        self._loaded.set()
                        continue
                    self._apply(entry.key, entry.value, entry.operation)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep following; log and start a new watcher
                log.warning("watching %s failed; watching again", BUCKET, exc_info=True)
            finally:
                if watcher is not None:
                    with contextlib.suppress(Exception):
                        await watcher.stop()
            await asyncio.sleep(RESTART_DELAY_S)

    def _apply(self, key: str, value: bytes | None, operation: str | None) -> None:
        if operation in (KV_DEL, KV_PURGE) or not value:
            self._entries.pop(key, None)
            return
        try:
            self._entries[key] = Revocation.model_validate_json(value)
        except ValidationError:
            log.warning("unreadable revocation %s ignored", key)

    @property
    def loaded(self) -> bool:
        return self._loaded.is_set()

    def is_revoked(self, sub: str, jti: str | None, issued_at: float | None) -> str | None:
        """Why a token is refused, or None when it is not revoked."""
        if jti is not None and key_of("jti", jti) in self._entries:
            return "this token was revoked"
        by_subject = self._entries.get(key_of("sub", sub))
        if by_subject is not None:
            # iat has whole seconds: a token of the revocation's second counts as revoked.
            if issued_at is None or issued_at <= int(by_subject.revoked_at):
                return f"the tokens of {sub} issued before a revocation are refused"
        return None

    async def revoke(self, kind: Literal["jti", "sub"], value: str, by: str,
                     reason: str | None = None) -> Revocation:
        revocation = Revocation(kind=kind, value=value, revoked_at=time.time(), revoked_by=by,
                                reason=reason)
        key = key_of(kind, value)
        try:
            await self._kv.put(key, revocation.model_dump_json().encode())
        except (NatsError, asyncio.TimeoutError) as error:
            raise RevocationsUnavailable(str(error)) from error
        self._entries[key] = revocation  # this replica honours it before the watcher tells it
        return revocation

    def all(self) -> list[Revocation]:
        return sorted(self._entries.values(), key=lambda r: (r.revoked_at, r.kind, r.value))
