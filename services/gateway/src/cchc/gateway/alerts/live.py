"""Alert digests to the live event streams open in every gateway replica.

Each open stream (``GET /api/v1/events`` as Server-Sent Events) listens with a queue in the
gateway process that serves it; a digest goes to the streams whose caller may read its agency,
as an ``alerts`` event.

One replica delivers a digest (the one asked, or the one that claimed the morning), but behind a
load balancer an agency's dashboard may hold its stream on any of them. So the deliverer
publishes the digest on the core NATS subject ``SUBJECT``, which every replica follows (itself
included, no queue group): each hands it to its own streams and answers how many it reached,
and the deliverer adds up the answers that come within ``ANSWER_WAIT_S``. Only the gateway may
publish or subscribe there (``cchc.runtime.nats_auth``, deploy/nats/accounts.conf): a digest
names citizens.

Not JetStream: a digest is for the streams open now. A stream opened later reads the day's
alerts (``GET /api/v1/alerts``); email and the webhook are the channels that keep them. Should
NATS not be connected or refuse the digest (larger than ``max_payload``), the streams of
this replica still get it.
"""

import asyncio
import contextlib
import json
import logging
from typing import Any

from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.errors import Error as NatsError

from cchc.contracts.messages import Principal

log = logging.getLogger("cchc.gateway.alerts")

QUEUE_SIZE = 100  # a stream that does not keep up loses the oldest digests, never blocks
SUBJECT = "gateway.alerts.live"
ANSWER_WAIT_S = 0.5  # replicas answer in milliseconds; the window is for a busy one


class LiveAlerts:
    def __init__(self) -> None:
        self._listeners: dict[asyncio.Queue[dict[str, Any]], Principal] = {}
        self._nc: NATS | None = None
        self._following: Subscription | None = None

    def listen(self, caller: Principal) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._listeners[queue] = caller
        return queue

    def stop(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._listeners.pop(queue, None)

    def publish(self, payload: dict[str, Any]) -> int:
        """Hand the digest to every stream of this replica allowed to see it; the number of
        streams."""
        reached = 0
        for queue, caller in list(self._listeners.items()):
            if not caller.may_read(payload["agency"]):
                continue
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(payload)
            reached += 1
        return reached

    async def follow(self, nc: NATS) -> None:
        """Take the digests other replicas deliver (and this one's, through NATS as well)."""
        self._nc = nc
        self._following = await nc.subscribe(SUBJECT, cb=self._received)

    async def unfollow(self) -> None:
        following, self._following = self._following, None
        if following is not None:
            with contextlib.suppress(NatsError):
                await following.unsubscribe()

    async def send(self, payload: dict[str, Any]) -> int:
        """The digest to the streams of every replica; how many streams took it, as the
        replicas answered within ``ANSWER_WAIT_S``."""
        nc = self._nc
        if nc is None or self._following is None:
            return self.publish(payload)
        if not nc.is_connected:  # nats-py would hold it until it reconnects, maybe for long
            log.warning("alert digest of %s to this replica's streams only: NATS not connected",
                        payload["agency"])
            return self.publish(payload)
        answers: list[int] = []

        async def answered(msg: Msg) -> None:
            with contextlib.suppress(ValueError):
                answers.append(int(msg.data))

        subscription: Subscription | None = None
        try:
            subscription = await nc.subscribe(nc.new_inbox(), cb=answered)
            await nc.publish(SUBJECT, json.dumps(payload, ensure_ascii=False).encode(),
                             reply=subscription.subject)
            await asyncio.sleep(ANSWER_WAIT_S)
        except NatsError as error:
            log.warning("alert digest of %s to this replica's streams only: %s",
                        payload["agency"], error or type(error).__name__)
            return self.publish(payload)
        finally:
            if subscription is not None:  # the answers' inbox goes, whatever happened
                with contextlib.suppress(NatsError):
                    await subscription.unsubscribe()
        return sum(answers)

    async def _received(self, msg: Msg) -> None:
        try:
            payload = json.loads(msg.data)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("agency"), str):
            log.warning("something that is not an alert digest on %s: ignored", SUBJECT)
            return
        reached = self.publish(payload)
        if msg.reply:
            with contextlib.suppress(NatsError):
                await msg.respond(str(reached).encode())
