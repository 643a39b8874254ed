"""The event store on NATS JetStream.

One stream per context; one subject per aggregate, ``cchc.<context>.<agency>.<aggregate>``
(subject scheme 2; the type is in the ``Cchc-Event-Type`` header and the envelope). An append
expects the aggregate's last stream sequence on its subject (``Nats-Expected-Last-Subject-
Sequence``, optimistic concurrency); the first event of an aggregate also expects its id free
under every agency (``cchc.<context>.*.<aggregate>``). Each carries ``Nats-Msg-Id`` = event id
(de-duplication).
Each event is chained to the aggregate's previous one by hash, so history cannot be rewritten
unnoticed, and signed with the appending service's key when the store is given one
(``cchc.runtime.event_signatures``), so that nobody without the key can append a valid event.
"""

import base64
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from nats.js.errors import BadRequestError
from opentelemetry.trace import SpanKind

from cchc.contracts.envelope import GENESIS_HASH, EventEnvelope
from cchc.contracts.events import Event
from cchc.contracts.late_entry import LateEntry
from cchc.contracts.messages import CommandMeta
from cchc.contracts.subjects import (
    EVENT_TYPE_HEADER,
    aggregate_subjects,
    event_subject,
    stream_name,
)
from cchc.runtime.domain_errors import Conflict, Unavailable
from cchc.runtime.event_signatures import sign_envelope
from cchc.runtime.ids import derived_id, new_id
from cchc.runtime.nats_failures import unavailable_on_nats_failure
from cchc.runtime.observability import current_traceparent, get_tracer
from cchc.runtime.signing_keys import SigningKey

CONFLICT_CODES = (10071, 10164)
EOB_STATUS = "204"


class ConcurrencyConflict(Exception):
    """Another event reached the aggregate first."""


class ArchivedHistory(Conflict):
    """The stream holds an aggregate's later events but not its first ones: they are in an
    archive (an event was appended while its year was being archived)."""


class EventStoreError(Exception):
    pass


class LogUnavailable(EventStoreError, Unavailable):
    """JetStream answered that it cannot answer now (no leader for the moment): try again."""


@dataclass(frozen=True)
class AggregateHistory:
    context: str
    aggregate_id: str
    envelopes: list[EventEnvelope] = field(default_factory=list)

    @property
    def version(self) -> int:
        return len(self.envelopes)

    @property
    def last_position(self) -> int:
        return self.envelopes[-1].position or 0 if self.envelopes else 0

    @property
    def head_hash(self) -> str:
        return self.envelopes[-1].hash if self.envelopes else GENESIS_HASH

    @property
    def exists(self) -> bool:
        return bool(self.envelopes)

    def followed_by(self, envelope: EventEnvelope) -> "AggregateHistory":
        return AggregateHistory(self.context, self.aggregate_id, [*self.envelopes, envelope])


@dataclass(frozen=True)
class Appended:
    envelope: EventEnvelope
    duplicate: bool = False

    @property
    def position(self) -> int:
        assert self.envelope.position is not None
        return self.envelope.position


@dataclass(frozen=True)
class Metadata:
    """Who caused an event and why: copied into its envelope."""

    actor: str
    correlation_id: str
    causation_id: str | None = None
    event_id: str | None = None
    late_entry: LateEntry | None = None


def command_metadata(meta: CommandMeta) -> Metadata:
    """The envelope metadata of a command's event: a command under an idempotency key gets an
    event id derived from it, so a retry is recognised (by id) instead of written twice."""
    key = meta.idempotency_key
    return Metadata(
        actor=meta.principal.sub,
        correlation_id=meta.correlation_id,
        event_id=derived_id("event", key) if key else None,
    )


class EventStore:
    def __init__(self, nc: NATS, timeout: float = 5.0, signer: SigningKey | None = None) -> None:
        self._nc = nc
        self._signer = signer
        self._js = nc.jetstream(timeout=timeout)
        self._timeout = timeout

    @property
    def nats(self) -> NATS:
        """The connection the store reads and appends with."""
        return self._nc

    @property
    def jetstream(self) -> JetStreamContext:
        """The JetStream context the store appends with (a service's other JetStream state,
        such as a key-value bucket, shares its connection and credentials)."""
        return self._js

    async def load(self, context: str, aggregate_id: str, consistent: bool = False) -> AggregateHistory:
        """Every event of one aggregate, in order.

        The fast path is one batched direct get; ``consistent`` asks the stream leader message by
        message, for the re-read after a conflict (a replica may lag behind the leader).
        """
        subject = aggregate_subjects(context, aggregate_id)
        with unavailable_on_nats_failure("the event log"):
            if consistent:
                envelopes = await self._leader_read(context, subject)
            else:
                envelopes = await self._direct_read(context, subject, after=0, limit=None)
        if envelopes and envelopes[0].aggregate_version != 1:
            raise ArchivedHistory(
                f"{context} {aggregate_id}: the beginning of its history is in an archive; "
                "restore that year (cchc archive restore) before changing it")
        return AggregateHistory(context, aggregate_id, envelopes)

    async def look_up(self, context: str, aggregate_id: str) -> AggregateHistory:
        """Another aggregate's history, for a command that checks against it (a procedure's
        agency, a receipt's procedure): the fast read, asked again of the stream leader when it
        finds nothing. A replica of an R3 stream may lag behind the leader, and "unknown agency"
        for an agency registered a moment ago is a wrong answer, not a stale one."""
        history = await self.load(context, aggregate_id)
        if history.exists:
            return history
        return await self.load(context, aggregate_id, consistent=True)

    async def append(
        self,
        history: AggregateHistory,
        event: Event,
        *,
        agency: str,
        occurred_at: datetime,
        meta: Metadata,
    ) -> Appended:
        event_type = event.event_type()
        subject = event_subject(history.context, agency, history.aggregate_id)
        # A child of the command's span; the envelope keeps this span's trace context, so what
        # the event causes later (a projection) can link back to it.
        with get_tracer(__name__).start_as_current_span(
            f"append {event_type}", kind=SpanKind.PRODUCER,
            attributes={"messaging.system": "nats", "messaging.destination.name": subject,
                        "cchc.context": history.context, "cchc.aggregate_id": history.aggregate_id,
                        "cchc.expected_version": history.version},
        ) as span:
            envelope = EventEnvelope(
                event_id=meta.event_id or new_id(),
                type=event_type,
                schema_version=event.schema_version,
                context=history.context,
                agency=agency,
                aggregate_id=history.aggregate_id,
                aggregate_version=history.version + 1,
                occurred_at=occurred_at,
                recorded_at=datetime.now(UTC),
                actor=meta.actor,
                correlation_id=meta.correlation_id,
                causation_id=meta.causation_id,
                payload=event.model_dump(mode="json"),
                traceparent=current_traceparent(),
                late_entry=meta.late_entry,
            ).sealed(history.head_hash)
            if self._signer is not None:
                envelope = sign_envelope(envelope, self._signer)
            span.set_attribute("messaging.message.id", envelope.event_id)
            headers = {
                "Nats-Msg-Id": envelope.event_id,
                "Nats-Expected-Last-Subject-Sequence": str(history.last_position),
                EVENT_TYPE_HEADER: envelope.type,
            }
            if not history.exists:
                # A new aggregate: its id must be free under any agency, not only under this one
                # (the wildcard form costs a lookup, so only creations pay it).
                headers["Nats-Expected-Last-Subject-Sequence-Subject"] = aggregate_subjects(
                    history.context, history.aggregate_id)
            try:
                with unavailable_on_nats_failure("the event log"):
                    ack = await self._js.publish(
                        subject, envelope.to_bytes(), stream=stream_name(history.context),
                        headers=headers,
                    )
            except BadRequestError as error:
                if error.err_code not in CONFLICT_CODES:
                    raise
                # A retried publish whose first attempt was stored also fails the sequence check
                # (single server): look for our own event before calling it a conflict.
                stored = await self._find_event(history, envelope.event_id)
                if stored is not None:
                    span.set_attribute("cchc.duplicate", True)
                    return Appended(stored, duplicate=True)
                span.set_attribute("cchc.conflict", True)
                raise ConcurrencyConflict(
                    f"{history.context}/{history.aggregate_id} moved past version {history.version}"
                ) from error
            span.set_attribute("cchc.position", ack.seq)
            if ack.duplicate:
                span.set_attribute("cchc.duplicate", True)
                stored = await self.get(history.context, ack.seq)
                return Appended(stored, duplicate=True)
            return Appended(envelope.model_copy(update={"position": ack.seq}))

    async def get(self, context: str, position: int) -> EventEnvelope:
        raw = await self._msg_get(context, {"seq": position})
        if raw is None:
            raise EventStoreError(f"no event at {context}:{position}")
        return raw

    async def read_after(
        self, context: str, after: int, limit: int, subject_filter: str | None = None
    ) -> list[EventEnvelope]:
        """Up to ``limit`` events with a position greater than ``after``, in log order."""
        return await self._direct_read(
            context, subject_filter or f"cchc.{context}.>", after=after, limit=limit
        )

    async def last_position(self, context: str) -> int:
        info = await self._js.stream_info(stream_name(context))
        return info.state.last_seq

    async def _find_event(self, history: AggregateHistory, event_id: str) -> EventEnvelope | None:
        fresh = await self.load(history.context, history.aggregate_id, consistent=True)
        return next((e for e in fresh.envelopes if e.event_id == event_id), None)

    async def _leader_read(self, context: str, subject: str) -> list[EventEnvelope]:
        envelopes: list[EventEnvelope] = []
        seq = 1
        while True:
            envelope = await self._msg_get(context, {"seq": seq, "next_by_subj": subject})
            if envelope is None:
                return envelopes
            envelopes.append(envelope)
            assert envelope.position is not None
            seq = envelope.position + 1

    async def _msg_get(self, context: str, request: dict) -> EventEnvelope | None:
        reply = await self._nc.request(
            f"$JS.API.STREAM.MSG.GET.{stream_name(context)}",
            json.dumps(request).encode(),
            timeout=self._timeout,
        )
        answer = json.loads(reply.data)
        if "error" in answer:
            if answer["error"].get("err_code") == 10037:  # no message found
                return None
            if answer["error"].get("code") == 503:  # no leader at the moment
                raise LogUnavailable("the event log has no leader at the moment; try again")
            raise EventStoreError(answer["error"].get("description", str(answer["error"])))
        message = answer["message"]
        return EventEnvelope.from_bytes(base64.b64decode(message["data"]), message["seq"])

    async def _direct_read(
        self, context: str, subject: str, after: int, limit: int | None
    ) -> list[EventEnvelope]:
        """Batched direct get: one request, the messages stream back until an end-of-batch."""
        envelopes: list[EventEnvelope] = []
        start = after + 1
        while limit is None or len(envelopes) < limit:
            batch = 256 if limit is None else min(256, limit - len(envelopes))
            page, last_seen, more = await self._direct_batch(context, subject, start, batch)
            envelopes.extend(page)
            if not more:
                break
            start = last_seen + 1
        return envelopes

    async def _direct_batch(
        self, context: str, subject: str, start: int, batch: int
    ) -> tuple[list[EventEnvelope], int, bool]:
        inbox = self._nc.new_inbox()
        sub = await self._nc.subscribe(inbox)
        try:
            request = {"seq": start, "batch": batch, "next_by_subj": subject}
            await self._nc.publish(
                f"$JS.API.DIRECT.GET.{stream_name(context)}",
                json.dumps(request).encode(),
                reply=inbox,
            )
            page: list[EventEnvelope] = []
            last_seen = start - 1
            while True:
                msg = await sub.next_msg(timeout=self._timeout)
                headers = msg.headers or {}
                status = headers.get("Status")
                if status == "404":
                    return page, last_seen, False
                if status == EOB_STATUS:
                    return page, last_seen, int(headers.get("Nats-Num-Pending", "0")) > 0
                if status in ("503", "408"):  # no responders, a timed-out request
                    raise LogUnavailable(f"the event log did not answer ({status}); try again")
                if status is not None:
                    raise EventStoreError(f"direct get failed: {status} {headers}")
                position = int(headers["Nats-Sequence"])
                page.append(EventEnvelope.from_bytes(msg.data, position))
                last_seen = position
        finally:
            await sub.unsubscribe()
