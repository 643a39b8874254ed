"""Alert digests to the live event streams open in this gateway process.

Each open stream (``GET /api/v1/events`` as Server-Sent Events) listens with a queue; a digest
goes to the streams whose caller may read its agency, as an ``alerts`` event.
"""

import asyncio
from typing import Any

from cchc.contracts.messages import Principal

QUEUE_SIZE = 100  # a stream that does not keep up loses the oldest digests, never blocks


class LiveAlerts:
    def __init__(self) -> None:
        self._listeners: dict[asyncio.Queue[dict[str, Any]], Principal] = {}

    def listen(self, caller: Principal) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._listeners[queue] = caller
        return queue

    def stop(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._listeners.pop(queue, None)

    def publish(self, payload: dict[str, Any]) -> int:
        """Hand the digest to every stream allowed to see it; the number of streams."""
        reached = 0
        for queue, caller in list(self._listeners.items()):
            if not caller.may_read(payload["agency"]):
                continue
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(payload)
            reached += 1
        return reached
