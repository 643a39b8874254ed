"""How the scheduled backups go, told where the gateway can read it.

The backup job keeps the status of its last attempt in its folder (``.status.json``, its
container's health) and puts the same record into the KV bucket ``BACKUP_STATUS`` (key
``last``), so that the gateway's ``GET /health`` and an admin's dashboard show a failed backup
in every deployment: in Kubernetes the backups' volume is mounted by the backup Job alone, and
a failed Job is seen only by whoever watches the cluster.

The ``backup`` NATS user may create that bucket and put into it, nothing else that writes; the
gateway reads it like any stream. A record: ``state`` (``running``, ``whole`` or ``failed``),
``at`` (ISO time), ``every_s`` (how often a backup is due), and ``backup`` or ``error``.
"""

import json
import logging
from datetime import datetime
from typing import Any

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType
from nats.js.errors import BucketNotFoundError, KeyDeletedError, KeyNotFoundError

from cchc.runtime import kv_buckets

log = logging.getLogger("cchc.backup_status")

BUCKET = "BACKUP_STATUS"
KEY = "last"
GRACE_S = 3600.0  # what a backup itself may take, beyond its interval


def health_of(status: dict[str, Any], every_s: float, now: datetime,
              grace_s: float = GRACE_S) -> tuple[bool, str]:
    """Whether the backups are healthy by the record of the last attempt, and why: healthy
    while one is under way (for up to an interval and ``grace_s``) and after a whole one (for
    as long); a failed one is unhealthy until a whole one follows."""
    try:
        state, since = status["state"], datetime.fromisoformat(status["at"])
    except (ValueError, KeyError, TypeError) as error:
        return False, f"the backup status cannot be read: {error}"
    if state == "failed":
        return False, f"the last backup failed at {status['at']}: {status.get('error', '')}"
    age = (now - since).total_seconds()
    if age > every_s + grace_s:
        what = "under way" if state == "running" else "whole"
        return False, f"the last backup {what} is from {status['at']}"
    return True, f"{state} since {status['at']}"


async def publish(nc: NATS, status: dict[str, Any], replicas: int = 1) -> None:
    """Put ``status`` into the bucket (made if missing); a failure is logged, not raised: the
    backup itself is what matters, and its folder holds the same record."""
    try:
        bucket = await kv_buckets.open_bucket(nc.jetstream(), KeyValueConfig(
            bucket=BUCKET, history=1, storage=StorageType.FILE, replicas=replicas))
        await bucket.put(KEY, json.dumps(status).encode())
    except (NatsError, TimeoutError) as error:
        log.warning("the backup status was not published to %s: %s: %s", BUCKET,
                    type(error).__name__, error)


async def read(js: JetStreamContext) -> dict[str, Any] | None:
    """The record of the last attempt; None when no backup job has reported one."""
    try:
        bucket = await js.key_value(BUCKET)
        entry = await bucket.get(KEY)
    except (BucketNotFoundError, KeyNotFoundError, KeyDeletedError):
        return None
    try:
        status = json.loads(entry.value or b"")
    except ValueError:
        status = None
    return status if isinstance(status, dict) else {"state": "unreadable"}
