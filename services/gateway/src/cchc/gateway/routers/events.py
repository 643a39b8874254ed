"""The event log as a feed, for systems without NATS access (same permissions as reads).

Read straight from JetStream through the runtime's event store, not through a service: the log
is the source of truth and needs no projection. An officer's read is filtered by subject to its
own agency's events, so others' events never leave the server; that agency must be a plain
subject token (a wildcard such as ``*`` or ``>`` would widen the filter), else 403.

With ``Accept: text/event-stream`` the same feed is a live Server-Sent Events stream (for
dashboards): each envelope after ``after`` (or after the ``Last-Event-ID`` a reconnecting
EventSource sends) as one ``message`` event whose ``id`` is its log position, then each new one
as it is appended. The gateway's NATS user reads the streams but subscribes to no event subject,
so the stream polls the log; it ends after ``STREAM_MAX_S`` and the client reconnects from its
last id (which also re-checks its token). The working morning's alert digests (and those
delivered on request) of the agencies the caller may read come on the same stream as ``alerts``
events (no ``id``: they are not in the log). One principal holds at most ``max_event_streams``
(a setting) open at once: the next is 429 with Retry-After; a stream's slot is freed when it ends
or its client goes away.
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from starlette.types import Receive, Scope, Send
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError
from pydantic import BaseModel

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.messages import Principal
from cchc.contracts.subjects import CONTEXTS, agency_subjects, is_token, stream_name
from cchc.gateway.alerts.live import LiveAlerts
from cchc.gateway.deps import Caller, Gateway, GatewayDep
from cchc.gateway.problems import PROBLEM_RESPONSES, problem
from cchc.runtime.eventstore import EventStoreError

log = logging.getLogger("cchc.gateway.events")

router = APIRouter(prefix="/api/v1", tags=["event log"], responses=PROBLEM_RESPONSES)

Context = StrEnum("Context", {name: name for name in CONTEXTS})  # type: ignore[misc]

EVENT_STREAM = "text/event-stream"
STREAM_POLL_S = 0.5  # how often a live stream looks for new events
STREAM_HEARTBEAT_S = 15.0  # a comment line when nothing was sent for this long (proxies)
STREAM_MAX_S = 300.0  # then the stream ends; EventSource reconnects with Last-Event-ID
STREAM_RETRY_MS = 1000  # the reconnection delay the stream advises
# The largest log position asked for: JetStream refuses a start beyond a 64-bit sequence.
MAX_POSITION = 2**63 - 1
STREAM_BUSY_RETRY_S = 5  # Retry-After of a 429 for one stream too many


class StreamSlots:
    """The live streams each principal holds open in this gateway process."""

    def __init__(self) -> None:
        self.open: dict[tuple[str, str, str | None], int] = {}

    def take(self, principal: Principal, limit: int) -> "StreamSlot":
        key = (principal.sub, principal.role.value, principal.agency)
        if self.open.get(key, 0) >= limit:
            raise problem(429, f"at most {limit} event streams may be open at once per caller; "
                               "close one first", title="Too many requests",
                          headers={"Retry-After": str(STREAM_BUSY_RETRY_S)})
        self.open[key] = self.open.get(key, 0) + 1
        return StreamSlot(self, key)


class StreamSlot:
    def __init__(self, slots: StreamSlots, key: tuple[str, str, str | None]) -> None:
        self.slots, self.key, self.held = slots, key, True

    def release(self) -> None:
        if self.held:
            self.held = False
            left = self.slots.open.get(self.key, 1) - 1
            if left > 0:
                self.slots.open[self.key] = left
            else:
                self.slots.open.pop(self.key, None)


class SlotStreamingResponse(StreamingResponse):
    """Frees its slot however the response ends: finished, failed, or the client gone."""

    def __init__(self, slot: StreamSlot, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()


def stream_slots(request: Request) -> StreamSlots:
    state = request.app.state
    if getattr(state, "event_stream_slots", None) is None:
        state.event_stream_slots = StreamSlots()
    return state.event_stream_slots


def caller_subjects(caller: Principal, context: str) -> str | None:
    """The subject filter of what the caller may read: None for everything."""
    if caller.reads_everything:
        return None
    if not caller.agency or not is_token(caller.agency):
        raise problem(403, "the token's agency is not an agency code", field="agency")
    return agency_subjects(context, caller.agency)


class EventPage(BaseModel):
    items: list[EventEnvelope]
    next_cursor: int | None = None


STREAM_RESPONSE = {200: {
    "description": "A page of envelopes; with `Accept: text/event-stream`, a live stream of "
                   "them (Server-Sent Events, `id` = log position, `data` = the envelope).",
    "content": {EVENT_STREAM: {"schema": {"type": "string"}}},
}}


@router.get("/events", operation_id="list_events", response_model=EventPage,
            responses=STREAM_RESPONSE)
async def list_events(
    gw: GatewayDep, caller: Caller, request: Request,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION,
                                description="answer the events after this position")] = 0,
    cursor: Annotated[int | None, Query(ge=0, le=MAX_POSITION,
                                        description="same as after: a next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    context: Context = Context("dossier"),
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
    last_event_id: Annotated[str | None, Header(
        alias="Last-Event-ID", description="stream only: resume after this position")] = None,
) -> EventPage | StreamingResponse:
    subjects = caller_subjects(caller, context.value)
    start = after if cursor is None else cursor
    if accept is not None and EVENT_STREAM in accept.lower():
        if last_event_id is not None and last_event_id.strip():
            position = last_event_id.strip()
            if not (position.isascii() and position.isdigit()) or int(position) > MAX_POSITION:
                raise problem(400, "Last-Event-ID must be a log position (0 or more)",
                              field="Last-Event-ID")
            start = int(position)
        slot = stream_slots(request).take(caller, gw.settings.max_event_streams)
        alerts = request.app.state.live_alerts  # issue 16
        return SlotStreamingResponse(
            slot, _live(gw, context.value, start, limit, subjects, slot, alerts, caller),
            media_type=EVENT_STREAM,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    envelopes = await _read(gw, context.value, start, limit, subjects)
    # The last position, not "more pages exist": a feed reader polls on from it either way.
    next_cursor = envelopes[-1].position if envelopes else None
    return EventPage(items=envelopes, next_cursor=next_cursor)


async def _read(
    gw: Gateway, context: str, after: int, limit: int, subjects: str | None
) -> list[EventEnvelope]:
    try:
        return await gw.events.read_after(context, after, limit, subjects)
    except (NatsError, EventStoreError, TimeoutError):
        if await _stream_exists(gw, context):
            raise
        return []  # nothing has been written in this context yet


async def _live(
    gw: Gateway, context: str, after: int, limit: int, subjects: str | None, slot: StreamSlot,
    alerts: LiveAlerts, caller: Principal,
) -> AsyncIterator[str]:
    """The SSE body: what is in the log after ``after``, then what comes, until STREAM_MAX_S."""
    digests = alerts.listen(caller)
    try:
        async for chunk in _events(gw, context, after, limit, subjects, digests):
            yield chunk
    finally:
        alerts.stop(digests)
        slot.release()


async def _events(
    gw: Gateway, context: str, after: int, limit: int, subjects: str | None,
    digests: "asyncio.Queue[dict] | None" = None,
) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    started = last_sent = loop.time()
    position = after
    yield f"retry: {STREAM_RETRY_MS}\n\n"
    while loop.time() - started < STREAM_MAX_S:
        try:
            envelopes = await _read(gw, context, position, limit, subjects)
        except (NatsError, EventStoreError, TimeoutError) as error:
            # Headers are sent: no problem document now. End; the client resumes from its id.
            log.warning("event stream of %s ended after %s: %s", context, position, error)
            return
        for envelope in envelopes:
            assert envelope.position is not None
            position = envelope.position
            yield f"id: {position}\ndata: {envelope.model_dump_json()}\n\n"
            last_sent = loop.time()
        while digests is not None and not digests.empty():  # issue 16: alert digests
            yield f"event: alerts\ndata: {json.dumps(digests.get_nowait(), ensure_ascii=False)}\n\n"
            last_sent = loop.time()
        if len(envelopes) == limit:
            continue  # more are waiting: no pause
        if loop.time() - last_sent >= STREAM_HEARTBEAT_S:
            yield ": keep-alive\n\n"
            last_sent = loop.time()
        await asyncio.sleep(STREAM_POLL_S)


async def _stream_exists(gw: Gateway, context: str) -> bool:
    try:
        await gw.nc.jetstream().stream_info(stream_name(context))
    except NotFoundError:
        return False
    return True
