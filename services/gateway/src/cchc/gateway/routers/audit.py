"""Audit of a dossier's hash chain: has any of its history been rewritten?

Verified here from the log itself (not a projection): an inspector should not have to trust the
service whose work is being checked.
"""

from fastapi import APIRouter
from pydantic import BaseModel

from cchc.contracts.envelope import verify_chain
from cchc.contracts.dossier import CONTEXT
from cchc.gateway.deps import Caller, GatewayDep
from cchc.gateway.problems import PROBLEM_RESPONSES, problem, problem_responses
from cchc.gateway.routers.dossiers import DossierId
from cchc.runtime.eventstore import ArchivedHistory

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=PROBLEM_RESPONSES)


class ChainAudit(BaseModel):
    id: str
    valid: bool
    events: int
    head_hash: str
    broken_at: int | None = None


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
                      broken_at=broken_at)
