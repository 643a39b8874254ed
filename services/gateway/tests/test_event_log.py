"""The events feed and the hash-chain audit read the real JetStream log, not a service."""

import uuid
from datetime import UTC, datetime

import httpx
import pytest
from nats.errors import NoRespondersError
from nats.js.errors import NoStreamResponseError

from cchc.contracts.dossier import AgencyRegistered, DossierReceived, DossierWithdrawn
from cchc.contracts.envelope import EventEnvelope
from cchc.gateway.app import create_app
from cchc.gateway.config import GatewaySettings
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.natsserver import temporary_server
from cchc.runtime.streams import ensure_event_stream

WHEN = datetime(2024, 3, 4, 1, 0, tzinfo=UTC)


def token() -> str:
    return f"T{uuid.uuid4().hex[:10]}"


async def register_agency(store: EventStore, code: str) -> int:
    # A fresh aggregate each time: the feed test needs events, not a meaningful history.
    history = AggregateHistory("dossier", token())
    event = AgencyRegistered(code=code, name=f"Sở {code}", group="department")
    appended = await store.append(history, event, agency=code, occurred_at=WHEN,
                                  meta=Metadata(actor="test", correlation_id="c"))
    return appended.position


async def receive_and_withdraw(store: EventStore, agency: str) -> str:
    dossier_id = token()
    meta = Metadata(actor="test", correlation_id="c")
    history = AggregateHistory("dossier", dossier_id)
    received = DossierReceived(
        dossier_id=dossier_id, agency=agency, procedure="1.001", channel="direct",
        received_at=WHEN, receipt_day=WHEN.date(), processing_days=3, due_at=WHEN,
        applicant={"name": "Lê Văn C"},
    )
    first = await store.append(history, received, agency=agency, occurred_at=WHEN, meta=meta)
    withdrawn = DossierWithdrawn(withdrawn_at=WHEN, reason="rút")
    await store.append(history.followed_by(first.envelope), withdrawn, agency=agency,
                       occurred_at=WHEN, meta=meta)
    return dossier_id


async def test_an_officer_sees_only_its_agencys_events(client, nc, as_role):
    await ensure_event_stream(nc.jetstream(), "dossier")
    store = EventStore(nc)
    mine, theirs = token(), token()
    start = await register_agency(store, mine) - 1
    await register_agency(store, theirs)
    await register_agency(store, mine)

    officer = await client.get("/api/v1/events", params={"after": start},
                               headers=as_role("officer", mine))
    assert officer.status_code == 200
    page = officer.json()
    assert [e["agency"] for e in page["items"]] == [mine, mine]
    assert page["next_cursor"] == page["items"][-1]["position"]
    EventEnvelope.model_validate(page["items"][0])  # the envelope as published, with position

    admin = (await client.get("/api/v1/events", params={"after": start, "limit": 500},
                              headers=as_role("inspector"))).json()
    agencies = [e["agency"] for e in admin["items"] if e["agency"] in (mine, theirs)]
    assert agencies == [mine, theirs, mine]

    after_cursor = await client.get("/api/v1/events", params={"cursor": page["next_cursor"]},
                                    headers=as_role("officer", mine))
    assert after_cursor.json() == {"items": [], "next_cursor": None}


async def test_the_feed_pages_by_limit(client, nc, as_role):
    await ensure_event_stream(nc.jetstream(), "dossier")
    store = EventStore(nc)
    agency = token()
    start = await register_agency(store, agency) - 1
    for _ in range(2):
        await register_agency(store, agency)
    headers = as_role("officer", agency)
    first = (await client.get("/api/v1/events", params={"after": start, "limit": 2},
                              headers=headers)).json()
    rest = (await client.get("/api/v1/events", params={"after": first["next_cursor"]},
                             headers=headers)).json()
    assert len(first["items"]) == 2 and len(rest["items"]) == 1


async def test_a_context_without_a_stream_yet_is_an_empty_feed(as_role):
    server = temporary_server().start()
    try:
        app = create_app(GatewaySettings(nats_url=server.url, jwt_secret="x" * 32))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
                response = await client.get("/api/v1/events", params={"context": "planning"},
                                            headers=as_role("admin", secret="x" * 32))
        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}
    finally:
        server.stop()


async def test_audit_of_a_real_chain_is_valid(client, nc, as_role):
    await ensure_event_stream(nc.jetstream(), "dossier")
    store = EventStore(nc)
    agency = token()
    dossier_id = await receive_and_withdraw(store, agency)
    history = await store.load("dossier", dossier_id)

    response = await client.get(f"/api/v1/audit/dossiers/{dossier_id}",
                                headers=as_role("officer", agency))
    assert response.status_code == 200
    audit = response.json()
    assert {k: audit[k] for k in ("id", "valid", "events", "head_hash", "broken_at")} == {
        "id": dossier_id, "valid": True, "events": 2, "head_hash": history.head_hash,
        "broken_at": None}
    # Appended without a signing key, as before signing existed: unsigned, not a failure.
    assert [s["status"] for s in audit["signatures"]] == ["unsigned", "unsigned"]
    assert audit["signatures_valid"] is True and audit["anchor"] is None


async def test_audit_finds_a_forged_event(client, nc, as_role):
    await ensure_event_stream(nc.jetstream(), "dossier")
    store = EventStore(nc)
    agency = token()
    dossier_id = await receive_and_withdraw(store, agency)
    history = await store.load("dossier", dossier_id)
    # Someone with raw publish rights appends an event that is not chained to the history.
    forged = history.envelopes[-1].model_copy(update={
        "event_id": str(uuid.uuid4()), "aggregate_version": 3, "payload": {"reason": "sửa"},
        "recorded_at": datetime.now(UTC)})
    await nc.jetstream().publish(f"cchc.dossier.{agency}.{dossier_id}",
                                 forged.to_bytes(), stream="DOSSIER")
    # Beside the aggregate's subject, where a reader by aggregate would not look, nothing is kept.
    with pytest.raises((NoRespondersError, NoStreamResponseError)):
        await nc.jetstream().publish(f"cchc.dossier.{agency}.{dossier_id}.DossierWithdrawn",
                                     forged.to_bytes(), stream="DOSSIER")

    audit = (await client.get(f"/api/v1/audit/dossiers/{dossier_id}",
                              headers=as_role("inspector"))).json()
    assert audit["valid"] is False and audit["broken_at"] == 2 and audit["events"] == 3


async def test_audit_of_another_agencys_dossier_is_403_and_of_no_dossier_404(
    client, nc, as_role
):
    await ensure_event_stream(nc.jetstream(), "dossier")
    dossier_id = await receive_and_withdraw(EventStore(nc), token())
    other = await client.get(f"/api/v1/audit/dossiers/{dossier_id}",
                             headers=as_role("officer", "SO-KHAC"))
    assert other.status_code == 403
    missing = await client.get(f"/api/v1/audit/dossiers/{token()}", headers=as_role("admin"))
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
