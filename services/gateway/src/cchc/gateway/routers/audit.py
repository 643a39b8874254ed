"""Audit: a dossier's hash chain and signatures, the covering anchor, the published keys and
anchors. Has any of its history been rewritten, or written by someone without the service's key?

Verified here from the log itself (not a projection): an inspector should not have to trust the
service whose work is being checked. The keys come from the gateway's configuration.
"""

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from cchc.contracts.anchors import Anchor, StreamHead, short_fingerprint
from cchc.contracts.dossier import CONTEXT
from cchc.contracts.envelope import EventEnvelope, verify_chain
from cchc.contracts.gateway_views import AnchorSummary, ChainAudit, EventSignature, LateEntryAudit
from cchc.contracts.subjects import stream_name
from cchc.gateway.audit_keys import published_keyring
from cchc.gateway.deps import Caller, GatewayDep
from cchc.gateway.problems import PROBLEM_RESPONSES, problem, problem_responses
from cchc.gateway.routers.dossiers import DossierId
from cchc.runtime.anchor_log import AnchorLog
from cchc.runtime.event_signatures import SignatureStatus, check_history
from cchc.runtime.eventstore import ArchivedHistory
from cchc.runtime.signing_keys import Keyring, PublicKey

router = APIRouter(prefix="/api/v1", tags=["audit"], responses=PROBLEM_RESPONSES)


def anchor_summary(position: int, anchor: Anchor, keyring: Keyring) -> AnchorSummary:
    fingerprint = anchor.fingerprint()
    return AnchorSummary(
        fingerprint=fingerprint, short_fingerprint=short_fingerprint(fingerprint),
        position=position, signed_at=anchor.signed_at.isoformat(), key_id=anchor.key_id,
        valid=keyring.verifies(anchor.key_id, anchor.signature, anchor.signing_input(), "anchor"),
        heads={head.stream: head.last_seq for head in anchor.heads})


def _anchored(position: int | None, head: StreamHead | None) -> bool:
    return head is not None and (position or 0) <= head.last_seq


@router.get("/audit/dossiers/{dossier_id}", operation_id="audit_dossier",
            response_model=ChainAudit, responses=problem_responses(404, 409))
async def audit_dossier(dossier_id: DossierId, gw: GatewayDep, caller: Caller) -> ChainAudit:
    try:
        # From the leader: an audit of a history a follower has only in part would be wrong.
        history = await gw.events.load(CONTEXT, dossier_id, consistent=True)
    except ArchivedHistory as error:
        raise problem(409, error.message) from None
    if not history.exists:
        raise problem(404, f"no dossier {dossier_id}")
    agency = history.envelopes[0].agency
    if not caller.may_read(agency):
        raise problem(403, f"dossier {dossier_id} belongs to another agency")
    chain_valid, head_hash, broken_at = verify_chain(history.envelopes)
    keyring = published_keyring(gw.settings)
    anchors = AnchorLog(gw.nc)
    stream = stream_name(CONTEXT)
    newest = await anchors.newest()
    newest_head = newest[1].head(stream) if newest else None
    checks = check_history(history.envelopes, keyring,
                           newest_head.signed_since if newest_head else None)
    signatures = [
        EventSignature(position=e.position or 0, aggregate_version=e.aggregate_version,
                       type=e.type, status=c.status.value, key_id=c.key_id, reason=c.reason,
                       anchored=_anchored(e.position, newest_head))
        for e, c in zip(history.envelopes, checks, strict=True)]
    signatures_valid = all(c.status is not SignatureStatus.INVALID for c in checks)
    covering = await anchors.covering(stream, history.last_position)
    return ChainAudit(
        id=dossier_id, valid=chain_valid and signatures_valid, events=history.version,
        head_hash=head_hash, broken_at=broken_at, chain_valid=chain_valid,
        signatures_valid=signatures_valid, signatures=signatures,
        anchor=anchor_summary(*covering, keyring) if covering else None,
        late_entries=[_late_entry(e) for e in history.envelopes if e.late_entry is not None])


def _late_entry(envelope: EventEnvelope) -> LateEntryAudit:
    assert envelope.late_entry is not None
    return LateEntryAudit(
        version=envelope.aggregate_version, type=envelope.type,
        occurred_at=envelope.occurred_at.isoformat(), recorded_at=envelope.recorded_at.isoformat(),
        actor=envelope.actor, window_hours=envelope.late_entry.window_hours,
        reason=envelope.late_entry.reason, imported_from=envelope.late_entry.imported_from)


class PublishedKeys(BaseModel):
    keys: list[PublicKey] = Field(description="every signing key the installation uses or used: "
                                  "owner dossier, planning or scoring (events), anchor (anchors)")


@router.get("/audit/keys", operation_id="audit_keys", response_model=PublishedKeys)
async def audit_keys(gw: GatewayDep, caller: Caller) -> PublishedKeys:
    """The public keys that sign the events and the anchors (Ed25519, base64 of 32 bytes)."""
    return PublishedKeys(keys=published_keyring(gw.settings).keys)


class AnchorPage(BaseModel):
    items: list[AnchorSummary]
    next_cursor: str | None = None


@router.get("/audit/anchors", operation_id="audit_anchors", response_model=AnchorPage)
async def audit_anchors(
    gw: GatewayDep, caller: Caller,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$",
                                        description="newest first: the page before it")] = None,
) -> AnchorPage:
    """The signed anchors of each stream's head, newest first."""
    anchors = AnchorLog(gw.nc)
    bounds = await anchors.bounds()
    if bounds is None:
        return AnchorPage(items=[])
    keyring = published_keyring(gw.settings)
    first, last = bounds
    start = min(last, int(cursor) - 1) if cursor else last
    items: list[AnchorSummary] = []
    position = start
    while position >= first and len(items) < limit:
        found = await anchors.at_or_after(position)
        if found is not None and found[0] == position:
            items.append(anchor_summary(*found, keyring))
        position -= 1
    more = position >= first
    return AnchorPage(items=items, next_cursor=str(position + 1) if more else None)
