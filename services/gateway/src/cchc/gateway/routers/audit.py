"""Audit of a dossier's hash chain: has any of its history been rewritten?

Verified here from the log itself (not a projection): an inspector should not have to trust the
service whose work is being checked.
"""

from fastapi import APIRouter

from cchc.contracts.dossier import CONTEXT
from cchc.contracts.envelope import EventEnvelope, verify_chain
from cchc.contracts.gateway_views import ChainAudit, LateEntryAudit
from cchc.gateway.deps import Caller, GatewayDep
from cchc.gateway.problems import PROBLEM_RESPONSES, problem, problem_responses
from cchc.gateway.routers.dossiers import DossierId
from cchc.runtime.eventstore import ArchivedHistory

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=PROBLEM_RESPONSES)


@router.get("/audit/dossiers/{dossier_id}", operation_id="audit_dossier",
            response_model=ChainAudit, responses=problem_responses(404, 409))
async def audit_dossier(dossier_id: DossierId, gw: GatewayDep, caller: Caller) -> ChainAudit:
    try:
        history = await gw.events.load(CONTEXT, dossier_id)
    except ArchivedHistory as error:
        raise problem(409, error.message) from None
    if not history.exists:
        raise problem(404, f"no dossier {dossier_id}")
    agency = history.envelopes[0].agency
    if not caller.may_read(agency):
        raise problem(403, f"dossier {dossier_id} belongs to another agency")
    valid, head_hash, broken_at = verify_chain(history.envelopes)
    return ChainAudit(id=dossier_id, valid=valid, events=history.version, head_hash=head_hash,
                      broken_at=broken_at, late_entries=[
                          _late_entry(e) for e in history.envelopes if e.late_entry is not None])


def _late_entry(envelope: EventEnvelope) -> LateEntryAudit:
    assert envelope.late_entry is not None
    return LateEntryAudit(
        version=envelope.aggregate_version, type=envelope.type,
        occurred_at=envelope.occurred_at.isoformat(), recorded_at=envelope.recorded_at.isoformat(),
        actor=envelope.actor, window_hours=envelope.late_entry.window_hours,
        reason=envelope.late_entry.reason)
