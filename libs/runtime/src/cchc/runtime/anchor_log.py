"""The ``ANCHORS`` stream: its configuration, and reading anchors back (the newest one, the
first one covering a position, all of them in order)."""

import base64
import json
from collections.abc import AsyncIterator

from nats.aio.client import Client as NATS
from nats.js.api import DiscardPolicy, RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError

from cchc.contracts.anchors import ANCHOR_STREAM, ANCHOR_SUBJECT, Anchor
from cchc.runtime.stream_reader import stored_messages

NO_MESSAGE = 10037


def anchor_stream_config(replicas: int = 1) -> StreamConfig:
    # Nothing is ever deleted or purged: a removed anchor is what a verifier looks for.
    return StreamConfig(
        name=ANCHOR_STREAM, subjects=[ANCHOR_SUBJECT], retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE, max_msgs=-1, max_bytes=-1, max_age=0,
        discard=DiscardPolicy.NEW, num_replicas=replicas, allow_direct=True,
        deny_delete=True, deny_purge=True,
    )


class AnchorLog:
    """Reads anchors with stream-info and message-get requests only (the gateway's rights)."""

    def __init__(self, nc: NATS, timeout: float = 5.0) -> None:
        self._nc = nc
        self._js = nc.jetstream(timeout=timeout)
        self._timeout = timeout

    async def bounds(self) -> tuple[int, int] | None:
        """(first, last) position of the anchors; None: no anchor stream or no anchor yet."""
        try:
            info = await self._js.stream_info(ANCHOR_STREAM)
        except NotFoundError:
            return None
        if not info.state.messages:
            return None
        return info.state.first_seq, info.state.last_seq

    async def at_or_after(self, seq: int) -> tuple[int, Anchor] | None:
        """The anchor at position ``seq``, or the next one after it."""
        reply = await self._nc.request(
            f"$JS.API.STREAM.MSG.GET.{ANCHOR_STREAM}",
            json.dumps({"seq": seq, "next_by_subj": ANCHOR_SUBJECT}).encode(),
            timeout=self._timeout)
        answer = json.loads(reply.data)
        if "error" in answer:
            if answer["error"].get("err_code") == NO_MESSAGE:
                return None
            raise RuntimeError(answer["error"].get("description", str(answer["error"])))
        message = answer["message"]
        return message["seq"], Anchor.from_bytes(base64.b64decode(message["data"]))

    async def newest(self) -> tuple[int, Anchor] | None:
        bounds = await self.bounds()
        return None if bounds is None else await self.at_or_after(bounds[1])

    async def covering(self, stream: str, position: int) -> tuple[int, Anchor] | None:
        """The first anchor whose head of ``stream`` is at or past ``position`` (a binary search:
        heads only move forward)."""
        bounds = await self.bounds()
        if bounds is None:
            return None
        low, high = bounds
        found: tuple[int, Anchor] | None = None
        while low <= high:
            middle = (low + high) // 2
            candidate = await self.at_or_after(middle)
            if candidate is None or candidate[0] > high:
                high = middle - 1
                continue
            head = candidate[1].head(stream)
            if head is not None and head.last_seq >= position:
                found, high = candidate, middle - 1
            else:
                low = candidate[0] + 1
        return found


async def all_anchors(nc: NATS) -> AsyncIterator[tuple[int, Anchor]]:
    """Every anchor in order, with its position in the anchor stream."""
    try:
        async for message in stored_messages(nc, ANCHOR_STREAM):
            yield message.position, Anchor.from_bytes(message.data)
    except NotFoundError:
        return
