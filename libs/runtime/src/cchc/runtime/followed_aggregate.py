"""A small, rarely changing aggregate kept in memory and current with the log: the working
calendar that every dossier receipt reads.

Reading it from the log for each command that needs it cost a JetStream round trip per receipt
(bench/run.py: ~10% of the service's share of a receipt). Instead its history is read once, and
an ephemeral push consumer filtered on its subject delivers each later event as the log stores
it; the state in memory is that history folded. So another replica's declaration reaches this
process about as soon as a direct get could have seen it (which, on an R3 stream, a lagging
follower may answer anyway), and this process's own appends are read back at once: ``forget``
after appending makes the next use read the log.

Whatever breaks the follow (no message nor heartbeat for ``SILENT_AFTER_S``: a lost server or
connection; an event out of order) drops the state: the next use reads the log again and starts
a new consumer; a consumer that cannot be made (no permission, say) leaves every use reading
the log, as before.
"""

import asyncio
import json
import logging
import time
from typing import Any, Generic, TypeVar

from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import decode_event
from cchc.contracts.subjects import aggregate_subjects, stream_name
from cchc.runtime.command_loop import AggregateKind
from cchc.runtime.eventstore import AggregateHistory, EventStore
from cchc.runtime.ids import new_id
from cchc.runtime.pullfeed import ack_numbers

log = logging.getLogger("cchc.followed_aggregate")

S = TypeVar("S")

HEARTBEAT_S = 2.0
SILENT_AFTER_S = 3 * HEARTBEAT_S
# The server removes the consumer this long after this process stops listening.
INACTIVE_THRESHOLD_S = 30.0


class FollowedAggregate(Generic[S]):
    def __init__(self, store: EventStore, context: str, aggregate_id: str,
                 kind: AggregateKind[S]) -> None:
        self.store = store
        self.context = context
        self.aggregate_id = aggregate_id
        self.kind = kind
        self._history: AggregateHistory | None = None
        self._state: S | None = None
        self._sub: Subscription | None = None
        self._consumer: str | None = None
        self._heard_at = 0.0
        self._lock = asyncio.Lock()
        self._from_leader = False  # the next read asks the leader: this process appended

    async def state(self) -> S | None:
        """The aggregate's state as of the last event the log delivered."""
        if not self._current():
            async with self._lock:
                if not self._current():
                    await self._restart()
        return self._state

    def forget(self) -> None:
        """This process appended to the aggregate: the next use reads it from the log, from
        the stream leader (a lagging follower could answer without that append, and a receipt
        right after a declared day off would not see it)."""
        self._history = None
        self._from_leader = True

    async def close(self) -> None:
        await self._stop_following()
        self._history = None

    def _current(self) -> bool:
        return (self._history is not None
                and time.monotonic() - self._heard_at < SILENT_AFTER_S)

    async def _restart(self) -> None:
        await self._stop_following()
        # A lagging replica may answer this read: the consumer, on the leader, delivers from
        # what the read returned on.
        history = await self.store.load(self.context, self.aggregate_id,
                                        consistent=self._from_leader)
        self._from_leader = False
        self._state = self.kind.state(history)
        self._history = history
        try:
            await self._follow(after=history.last_position)
        except Exception as error:  # noqa: BLE001 - the log is still there: read it next time
            log.warning("cannot follow %s %s (%s); reading it from the log each time",
                        self.context, self.aggregate_id, error)
            await self._stop_following()
            self._history = None
            return
        self._heard_at = time.monotonic()

    async def _follow(self, after: int) -> None:
        nc = self.store.nats
        assert nc is not None
        inbox = nc.new_inbox()
        self._sub = await nc.subscribe(inbox, cb=self._on_message)
        stream = stream_name(self.context)
        name = f"follow-{self.aggregate_id}-{new_id().replace('-', '')[-12:]}"
        config = ConsumerConfig(
            name=name, deliver_subject=inbox, filter_subject=aggregate_subjects(
                self.context, self.aggregate_id),
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=after + 1,
            ack_policy=AckPolicy.NONE, idle_heartbeat=HEARTBEAT_S,
            inactive_threshold=INACTIVE_THRESHOLD_S, mem_storage=True, num_replicas=1,
        )
        # Created by hand: nats-py names the filter in the request's subject, and a subject
        # may not hold the wildcard this filter has.
        request = {"stream_name": stream, "config": config.as_dict(), "action": "create"}
        reply = await nc.request(f"$JS.API.CONSUMER.CREATE.{stream}.{name}",
                                 json.dumps(request).encode(), timeout=5.0)
        answer: dict[str, Any] = json.loads(reply.data)
        if "error" in answer:
            raise RuntimeError(answer["error"].get("description", str(answer["error"])))
        self._consumer = name

    async def _stop_following(self) -> None:
        sub, consumer = self._sub, self._consumer
        self._sub = self._consumer = None
        if sub is not None:
            try:
                await sub.unsubscribe()
            except Exception:  # noqa: BLE001, S110 - a closed connection has no subscription
                pass
        if consumer is not None:
            try:
                await self.store.jetstream.delete_consumer(stream_name(self.context), consumer)
            except Exception:  # noqa: BLE001, S110 - gone already, or removed when inactive
                pass

    async def _on_message(self, msg: Msg) -> None:
        self._heard_at = time.monotonic()
        history = self._history
        if not msg.reply or history is None:
            return  # a heartbeat, or a message for a state already dropped
        try:
            position, _ = ack_numbers(msg.reply)
            if position <= history.last_position:
                return  # already in the history read at the start
            envelope = EventEnvelope.from_bytes(msg.data, position)
            if envelope.aggregate_version != history.version + 1:
                raise ValueError(f"version {envelope.aggregate_version} after {history.version}")
            state = self.kind.evolve(self._state, decode_event(
                envelope.type, envelope.schema_version, envelope.payload))
        except Exception as error:  # noqa: BLE001 - drop the state, read the log next time
            log.warning("%s %s: follow broken (%s); reading it again", self.context,
                        self.aggregate_id, error)
            self._history = None
            return
        self._history, self._state = history.followed_by(envelope), state
