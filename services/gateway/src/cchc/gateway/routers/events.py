"""The event log as a feed, for systems without NATS access (same permissions as reads).

Read straight from JetStream through the runtime's event store, not through a service: the log
is the source of truth and needs no projection. An officer's read is filtered by subject to its
own agency's events, so others' events never leave the server.
"""

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Query
from nats.errors import Error as NatsError
from nats.js.errors import NotFoundError
from pydantic import BaseModel

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.subjects import CONTEXTS, agency_subjects, stream_name
from cchc.gateway.deps import Caller, GatewayDep
from cchc.gateway.problems import PROBLEM_RESPONSES
from cchc.runtime.eventstore import EventStoreError

router = APIRouter(prefix="/api/v1", tags=["event log"], responses=PROBLEM_RESPONSES)

Context = StrEnum("Context", {name: name for name in CONTEXTS})  # type: ignore[misc]


class EventPage(BaseModel):
    items: list[EventEnvelope]
    next_cursor: int | None = None


@router.get("/events", operation_id="list_events", response_model=EventPage)
async def list_events(
    gw: GatewayDep, caller: Caller,
    after: Annotated[int, Query(ge=0, description="answer the events after this position")] = 0,
    cursor: Annotated[int | None, Query(ge=0, description="same as after: a next_cursor")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    context: Context = Context("dossier"),
) -> EventPage:
    subjects = None if caller.reads_everything else agency_subjects(context, caller.agency or "")
    start = after if cursor is None else cursor
    try:
        envelopes = await gw.events.read_after(context.value, start, limit, subjects)
    except (NatsError, EventStoreError, TimeoutError):
        if await _stream_exists(gw, context.value):
            raise
        envelopes = []  # nothing has been written in this context yet
    # The last position, not "more pages exist": a feed reader polls on from it either way.
    next_cursor = envelopes[-1].position if envelopes else None
    return EventPage(items=envelopes, next_cursor=next_cursor)


async def _stream_exists(gw: GatewayDep, context: str) -> bool:
    try:
        await gw.nc.jetstream().stream_info(stream_name(context))
    except NotFoundError:
        return False
    return True
