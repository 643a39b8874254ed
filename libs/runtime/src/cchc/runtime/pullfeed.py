"""Batches from a durable pull consumer, kept flowing while the previous batch is applied.

nats-py's ``fetch`` waits for each message with a timer of its own and asks for the next batch
only when asked for it, so a projection alternates between waiting for NATS and waiting for SQL.
This feed sends pull requests on a plain subscription instead: the messages of the next batch
arrive (and are parsed) while the current one is being written, and taking a batch is a slice
of a buffer. The consumer's ``max_ack_pending`` still bounds how far it runs ahead.

Pull protocol (JetStream): a request ``{"batch": n, "expires": ns}`` on
``$JS.API.CONSUMER.MSG.NEXT.<stream>.<consumer>`` delivers up to ``n`` messages to the reply
inbox as they become available; a request that ends before ``n`` sends a status message (408
when it expires, 409 when the consumer goes away) that says how many it did not deliver.
"""

import asyncio
import json
from collections import deque
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription

from cchc.contracts.subjects import RESTORED_FROM_HEADER


@dataclass(frozen=True, slots=True)
class Delivered:
    """One message of the log as the consumer delivered it."""

    position: int  # its stream sequence
    subject: str
    data: bytes
    reply: str  # where its acknowledgement goes
    pending: int  # how many more the consumer had for us when it sent this one
    restored: bool = False  # put back from an archive: its first position saw it already


def ack_numbers(reply: str) -> tuple[int, int]:
    """(stream sequence, pending) from a JetStream ack subject, with or without domain."""
    tokens = reply.split(".")
    # $JS.ACK.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>.<time>.<pending>
    # $JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<stream seq>.<consumer seq>
    #   .<time>.<pending>.<random>
    if len(tokens) == 9:
        return int(tokens[5]), int(tokens[8])
    return int(tokens[7]), int(tokens[10])


class PullFeed:
    # A durable consumer follows the log for ever: never finished
    # (compare cchc.runtime.replay_reader.ReplayFeed).
    finished = False
    complete = False

    def __init__(self, nc: NATS, stream: str, consumer: str, batch: int, expires_s: float) -> None:
        self.nc = nc
        self.batch = batch
        self.expires_ns = int(expires_s * 1e9)
        self._next_subject = f"$JS.API.CONSUMER.MSG.NEXT.{stream}.{consumer}"
        self._buffer: deque[Delivered] = deque()
        self._requested = 0  # asked for, neither delivered nor given up by the server yet
        self._arrived = asyncio.Event()
        self._inbox = nc.new_inbox()
        self._sub: Subscription | None = None
        self._woken = False  # the runner is stopping: no take waits any longer

    def wake(self) -> None:
        """End the wait of the take in progress, and of every later one, at once: the runner
        is stopping and must not sit out a wait for events that are not coming."""
        self._woken = True
        self._arrived.set()

    async def start(self) -> None:
        self._sub = await self.nc.subscribe(self._inbox, cb=self._on_message)

    async def stop(self) -> None:
        """Stop receiving; what was requested and not delivered is redelivered to the next feed
        (nothing is acknowledged that was not taken and applied)."""
        if self._sub is not None:
            await self._sub.unsubscribe()
            self._sub = None

    async def take(self, timeout: float) -> list[Delivered]:
        """Up to ``batch`` messages in log order; empty if none arrived within ``timeout``.

        At the head of the log it returns what there is at once; behind it (the consumer says
        more are pending and they are on their way) it waits for a full batch, so a replay
        writes big transactions."""
        try:
            if not self._buffer:
                await self._request()
                self._arrived.clear()
                # asyncio.timeout, not wait_for: Python 3.11's wait_for can swallow a cancel
                # that comes as the wait ends (gh-86296), and a cancelled runner went on.
                async with asyncio.timeout(timeout):
                    await self._wait_for_message()
                if not self._buffer:  # woken
                    return []
            async with asyncio.timeout(timeout):
                await self._wait_for_full_batch()
        except TimeoutError:
            if not self._buffer:
                return []
        count = min(len(self._buffer), self.batch)
        taken = [self._buffer.popleft() for _ in range(count)]
        await self._request()  # the next batch is on its way while this one is applied
        return taken

    async def acknowledge(self, last: Delivered) -> None:
        """Acknowledge ``last`` and everything delivered before it (AckPolicy.ALL)."""
        await self.nc.publish(last.reply, b"+ACK")

    async def _wait_for_message(self) -> None:
        while not self._buffer and not self._woken:
            await self._arrived.wait()
            self._arrived.clear()
            if not self._buffer and self._requested == 0 and not self._woken:
                await self._request()  # the previous request expired empty: ask again

    async def _wait_for_full_batch(self) -> None:
        while (len(self._buffer) < self.batch and self._buffer[-1].pending > 0
               and not self._woken):
            await self._request()
            self._arrived.clear()
            await self._arrived.wait()

    async def _request(self) -> None:
        """Keep a batch in flight beyond the one buffered."""
        if self._requested + len(self._buffer) >= 2 * self.batch:
            return
        self._requested += self.batch
        request = {"batch": self.batch, "expires": self.expires_ns}
        await self.nc.publish(self._next_subject, json.dumps(request).encode(), reply=self._inbox)

    async def _on_message(self, msg: Msg) -> None:
        if msg.reply:
            position, pending = ack_numbers(msg.reply)
            restored = msg.headers is not None and RESTORED_FROM_HEADER in msg.headers
            self._buffer.append(Delivered(position, msg.subject, msg.data, msg.reply, pending,
                                          restored))
            self._requested = max(0, self._requested - 1)
        else:  # a status: the request ended with this many undelivered (or a heartbeat)
            headers = msg.headers or {}
            status = headers.get("Status", "")
            if status in ("404", "408"):
                undelivered = int(headers.get("Nats-Pending-Messages", self.batch))
                self._requested = max(0, self._requested - undelivered)
            elif status.startswith("4"):  # 409 and the like: the consumer's requests are gone
                self._requested = 0
        self._arrived.set()
