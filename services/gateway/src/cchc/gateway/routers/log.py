"""The event log, for systems without NATS access: the feed, and the audit of a hash chain."""

from typing import Annotated

from fastapi import APIRouter, Query
from nats.js.errors import NotFoundError

from cchc.contracts.envelope import verify_chain
from cchc.contracts.subjects import CONTEXTS, agency_subjects, context_subjects
from cchc.gateway.deps import Caller, GatewayDep
from cchc.gateway.problems import problem
from cchc.runtime.eventstore import EventStoreError

router = APIRouter(prefix="/api/v1", tags=["event log"])


@router.get("/events", operation_id="list_events")
async def list_events(
    gw: GatewayDep, caller: Caller, after: Annotated[int, Query(ge=0)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100, context: str = "dossier",
):
    if context not in CONTEXTS:
        raise problem(422, "Invalid input", f"context is one of {', '.join(CONTEXTS)}",
                      field="context")
    subjects = (
        context_subjects(context) if caller.reads_everything
        else agency_subjects(context, caller.agency or "")
    )
    try:
        envelopes = await gw.events.read_after(context, after, limit, subjects)
    except (NotFoundError, EventStoreError):
        envelopes = []  # the context's stream does not exist yet
    items = [e.model_dump(mode="json") for e in envelopes]
    next_cursor = items[-1]["position"] if len(items) == limit else None
    return {"items": items, "next_cursor": next_cursor}


@router.get("/audit/dossiers/{dossier_id}", operation_id="audit_dossier")
async def audit_dossier(dossier_id: str, gw: GatewayDep, caller: Caller):
    history = await gw.events.load("dossier", dossier_id)
    if not history.exists:
        raise problem(404, "Not found", f"no dossier {dossier_id}")
    agency = history.envelopes[0].agency
    if not caller.may_read(agency):
        raise problem(403, "Forbidden", f"dossier belongs to agency {agency}")
    valid, head_hash, broken_at = verify_chain(history.envelopes)
    return {
        "id": dossier_id, "valid": valid, "events": history.version, "head_hash": head_hash,
        "broken_at": broken_at,
    }
