"""The one command loop every service runs its commands through.

load the aggregate -> authorize -> the earlier answer to the same idempotency key -> the expected
version (If-Match) -> decide (pure) -> append expecting the aggregate's last position -> reply.
A conflicting append is decided again on the fresh history (a bounded number of times) unless
the caller named the version it expected. A key that JetStream de-duplicates against another
aggregate's event was reused for another command, and is refused.

A service says only what differs: the aggregate kind (how its state is rebuilt and answered),
who may, and the decision.
"""

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import Event, decode_event
from cchc.contracts.late_entry import LateEntry
from cchc.contracts.messages import Principal, Reply, Request
from cchc.contracts.subjects import is_token
from cchc.runtime.domain_errors import Conflict, NotFound, PreconditionFailed
from cchc.runtime.entry_window import EntryWindow, command_time_field
from cchc.runtime.eventstore import AggregateHistory, ConcurrencyConflict, EventStore, command_metadata

MAX_ATTEMPTS = 3

S = TypeVar("S")


@dataclass(frozen=True)
class AggregateKind(Generic[S]):
    """One kind of aggregate: its name, how its events fold into state, and what a command on it
    answers (from the state and the envelope of the event the command wrote)."""

    name: str
    evolve: Callable[[S | None, Any], S]
    answer: Callable[[S, EventEnvelope], Any]
    business_time: Callable[[Any], datetime | None] = lambda event: None
    agency_of: Callable[[S | None, Any], str] = lambda state, event: event.agency
    # What the answer adds from the envelopes themselves (not the events): late entries, say.
    envelope_facts: Callable[[list[EventEnvelope]], dict[str, Any]] | None = None

    def state(self, history: AggregateHistory) -> S | None:
        state: S | None = None
        for envelope in history.envelopes:
            state = self.evolve(state, decode_event(envelope.type, envelope.schema_version,
                                                    envelope.payload))
        return state

    def reply(self, history: AggregateHistory) -> Reply[Any]:
        state = self.state(history)
        assert state is not None  # a reply is made only after an event
        answer = self.answer(state, history.envelopes[-1])
        if self.envelope_facts is not None:
            answer = {**answer, **self.envelope_facts(history.envelopes)}
        return Reply.accepted(answer, version=history.version, position=history.last_position)


Decision = Callable[[Any], Event | Awaitable[Event]]
Authorization = Callable[[Principal, Any], None]


def anyone(principal: Principal, state: Any) -> None:
    """For commands whose caller was checked before the loop (against a procedure, say)."""


class CommandLoop:
    def __init__(self, store: EventStore, context: str, entry_window: EntryWindow | None = None
                 ) -> None:
        self.store = store
        self.context = context
        self.entry_window = entry_window or EntryWindow()

    async def create(
        self, request: Request[Any], kind: AggregateKind[Any], aggregate_id: str,
        decide: Decision, authorize: Authorization = anyone, fresh_id: bool = False,
    ) -> Reply[Any]:
        """A command that starts an aggregate: a twin created meanwhile is a conflict.

        ``fresh_id``: the caller made ``aggregate_id`` just now (a new UUIDv7, no idempotency
        key), so no history can exist and none is read: a round trip less per creation. The
        append still expects the id unused under every agency, so a twin stays impossible.
        """
        return await self._run(request, kind, aggregate_id, decide, authorize, must_exist=False,
                               retry=False, fresh_id=fresh_id)

    async def record(
        self, request: Request[Any], kind: AggregateKind[Any], aggregate_id: str,
        decide: Decision, authorize: Authorization = anyone,
    ) -> Reply[Any]:
        """A command that adds to an aggregate, existing or not (a calendar day, a correction):
        a concurrent append is decided again on the fresh history."""
        return await self._run(request, kind, aggregate_id, decide, authorize, must_exist=False,
                               retry=True)

    async def change(
        self, request: Request[Any], kind: AggregateKind[Any], aggregate_id: str | None,
        decide: Decision, authorize: Authorization,
    ) -> Reply[Any]:
        """A command on an aggregate that must exist (honouring If-Match)."""
        # An id is one subject token; "*" or "a.b" would widen the history's subject filter.
        if not aggregate_id or not is_token(aggregate_id):
            raise NotFound(f"no {kind.name} {aggregate_id or ''}".rstrip())
        return await self._run(request, kind, aggregate_id, decide, authorize, must_exist=True,
                               retry=True)

    async def _run(
        self, request: Request[Any], kind: AggregateKind[Any], aggregate_id: str,
        decide: Decision, authorize: Authorization, must_exist: bool, retry: bool,
        fresh_id: bool = False,
    ) -> Reply[Any]:
        metadata = command_metadata(request.meta)
        expected = request.meta.expected_version
        for attempt in range(MAX_ATTEMPTS):
            if fresh_id and attempt == 0 and metadata.event_id is None:
                history = AggregateHistory(self.context, aggregate_id)
            else:
                history = await self.store.load(self.context, aggregate_id, consistent=attempt > 0)
            state = kind.state(history)
            if attempt == 0 and ((must_exist and state is None)
                                 or (expected is not None and expected != history.version)):
                # The fast read (a direct get) may be answered by a replica of an R3 stream that
                # lags behind the leader: an aggregate written a moment ago may not be there yet
                # (seen in containers: 404 for a dossier just received). Ask the leader before
                # answering 404 or 412.
                history = await self.store.load(self.context, aggregate_id, consistent=True)
                state = kind.state(history)
            if must_exist and state is None:
                raise NotFound(f"no {kind.name} {aggregate_id}")
            # Who may comes first: an earlier answer is given only to someone who may ask.
            authorize(request.meta.principal, state)
            if (earlier := self._earlier_answer(metadata.event_id, history, kind)) is not None:
                return earlier
            if expected is not None and expected != history.version:
                raise PreconditionFailed(
                    f"the {kind.name} is at version {history.version}, not {expected}"
                    if state is not None else f"there is no {kind.name} at version {expected}")
            event = decide(state)
            if inspect.isawaitable(event):
                event = await event
            now = datetime.now(UTC)
            occurred_at = kind.business_time(event) or now
            try:
                appended = await self.store.append(
                    history, event, agency=kind.agency_of(state, event), occurred_at=occurred_at,
                    meta=replace(metadata, late_entry=self._late_entry(request, occurred_at, now)),
                )
            except ConcurrencyConflict:
                if expected is not None:
                    raise PreconditionFailed(f"the {kind.name} changed meanwhile") from None
                if not retry:
                    fresh = await self.store.load(self.context, aggregate_id, consistent=True)
                    if (earlier := self._earlier_answer(metadata.event_id, fresh, kind)) is not None:
                        return earlier  # our own earlier delivery got in first
                    raise Conflict(f"the {kind.name} was created concurrently") from None
                continue  # decide again on the fresh history: it may now refuse the command
            if appended.duplicate and appended.envelope.aggregate_id != aggregate_id:
                # JetStream de-duplicated us against another aggregate's event: the key was reused.
                raise Conflict("this idempotency key was already used for another command")
            return kind.reply(history.followed_by(appended.envelope))
        raise Conflict(f"the {kind.name} kept changing; try again")

    def _late_entry(
        self, request: Request[Any], occurred_at: datetime, now: datetime
    ) -> LateEntry | None:
        """Within the entry window: None; else refused, or the LateEntry an admin's carries.
        Only a time the caller gave is judged: one the service stamped or derived from a date
        (an inspection's day) is not an officer's moment of action."""
        field = command_time_field(request.body, occurred_at)
        imported_from = getattr(request.body, "imported_from", None)
        if field is None and imported_from is None:
            return None
        return self.entry_window.check(
            request.meta.principal, field or "imported_from", occurred_at, now,
            getattr(request.body, "late_entry_reason", None), imported_from)

    @staticmethod
    def _earlier_answer(
        event_id: str | None, history: AggregateHistory, kind: AggregateKind[Any]
    ) -> Reply[Any] | None:
        """The reply to an earlier delivery of this same command, if its event was stored."""
        if event_id is None:
            return None
        for index, envelope in enumerate(history.envelopes):
            if envelope.event_id == event_id:
                return kind.reply(AggregateHistory(
                    history.context, history.aggregate_id, history.envelopes[: index + 1]))
        return None
