"""Signed events and anchors against a real nats-server of their own: what `cchc verify` finds.

Each test gets a fresh server, so that its log holds exactly the events and anchors it wrote
(and streams it may make without the production streams' deny-delete, to play a rewritten log).
"""

import dataclasses
from datetime import UTC, date, datetime

import nats
import pytest
from nats.js.api import StreamConfig

from cchc.contracts.anchors import ANCHOR_STREAM, ANCHOR_SUBJECT, Anchor
from cchc.contracts.dossier import CalendarDayDeclared, DayKind
from cchc.contracts.envelope import EventEnvelope
from cchc.runtime.anchor_log import AnchorLog
from cchc.runtime.anchor_signer import AnchorSigner
from cchc.runtime.event_signatures import SignatureStatus, check_history
from cchc.runtime.eventstore import EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.log_verification import verify_log
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.signing_keys import Keyring, new_private_key_text, signing_key_from_text
from cchc.runtime.streams import ensure_event_stream, event_stream_config

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
DOSSIER_KEY = signing_key_from_text("dossier", new_private_key_text())
PLANNING_KEY = signing_key_from_text("planning", new_private_key_text())
ANCHOR_KEY = signing_key_from_text("anchor", new_private_key_text())
KEYRING = Keyring(keys=[DOSSIER_KEY.public_key(), PLANNING_KEY.public_key(),
                        ANCHOR_KEY.public_key()])


@pytest.fixture
async def nc(tmp_path):
    server = NatsServer(store_dir=tmp_path / "nats").start()
    client = await nats.connect(server.url)
    yield client
    await client.close()
    server.stop()


async def append(store: EventStore, aggregate: str, day: int = 2) -> EventEnvelope:
    history = await store.load("dossier", aggregate)
    event = CalendarDayDeclared(date=date(2026, 5, day), kind=DayKind.DAY_OFF, note="test")
    appended = await store.append(history, event, agency="_province", occurred_at=NOW,
                                  meta=Metadata(actor="tester", correlation_id="c"))
    return appended.envelope


async def verify(nc, **options):  # type: ignore[no-untyped-def]
    return await verify_log(nc, KEYRING, contexts=("dossier",), **options)


def test_an_unsigned_envelope_keeps_its_bytes_and_a_signed_one_its_signature():
    envelope = EventEnvelope(
        event_id="e1", type="CalendarDayDeclared", schema_version=1, context="dossier",
        agency="_province", aggregate_id="a", aggregate_version=1, occurred_at=NOW,
        recorded_at=NOW, actor="x", correlation_id="c", payload={"n": 1}).sealed("0" * 64)
    assert b"key_id" not in envelope.to_bytes() and b"signature" not in envelope.to_bytes()
    signed = envelope.model_copy(update={"key_id": DOSSIER_KEY.key_id,
                                         "signature": DOSSIER_KEY.sign(envelope.signing_input())})
    assert signed.compute_hash() == envelope.hash  # the signature is outside the chain
    again = EventEnvelope.from_bytes(signed.to_bytes(), 7)
    assert check_history([again], KEYRING, None)[0].status is SignatureStatus.SIGNED


async def test_events_before_signing_began_are_unsigned_not_failures(nc):
    await ensure_event_stream(nc.jetstream(), "dossier")
    legacy, signing = EventStore(nc), EventStore(nc, signer=DOSSIER_KEY)
    old = new_id()
    await append(legacy, old, 1)
    await append(legacy, old, 2)
    third = await append(signing, old, 3)
    await append(signing, new_id(), 4)
    assert third.key_id == DOSSIER_KEY.key_id

    result = await verify(nc)

    assert result.ok, [f.line() for f in result.event_failures]
    [stream] = result.streams
    assert (stream.events, stream.signed, stream.unsigned, stream.signed_since) == (4, 2, 2, 3)


async def test_an_event_forged_after_signing_began_is_named(nc):
    await ensure_event_stream(nc.jetstream(), "dossier")
    await append(EventStore(nc, signer=DOSSIER_KEY), new_id())
    # Valid chains, without the dossier service's key: unsigned, an unknown key, another
    # service's key.
    unsigned = await append(EventStore(nc), new_id())
    stranger = await append(EventStore(nc, signer=signing_key_from_text(
        "dossier", new_private_key_text())), new_id())
    borrowed = await append(EventStore(nc, signer=PLANNING_KEY), new_id())

    result = await verify(nc)

    named = {f.event_id: f.problem for f in result.event_failures}
    assert set(named) == {unsigned.event_id, stranger.event_id, borrowed.event_id}
    assert "unsigned" in named[unsigned.event_id]
    assert "unknown signing key" in named[stranger.event_id]
    assert "planning key" in named[borrowed.event_id]
    assert not result.ok


async def test_anchors_cover_the_heads_and_a_tampered_or_missing_one_is_found(nc):
    js = nc.jetstream()
    await ensure_event_stream(js, "dossier")
    # An anchor stream that allows deletes, to play someone removing an anchor.
    await js.add_stream(StreamConfig(name=ANCHOR_STREAM, subjects=[ANCHOR_SUBJECT],
                                     allow_direct=True))
    store, signer = EventStore(nc, signer=DOSSIER_KEY), AnchorSigner(nc, ANCHOR_KEY, ("dossier",))
    await signer.setup()
    first = await signer.anchor_once()
    assert first is not None and first.heads[0].last_seq == 0
    anchors: list[Anchor] = []
    for day in (1, 2, 3):
        last = await append(store, new_id(), day)
        anchors.append(await signer.anchor_once())
    assert await signer.anchor_once() is None  # nothing moved: no new anchor
    assert anchors[-1].heads[0].last_seq == last.position
    assert anchors[-1].heads[0].signed_since == 1
    covering = await AnchorLog(nc).covering("DOSSIER", 2)
    assert covering is not None and covering[1] == anchors[1]

    fingerprint = anchors[-1].fingerprint()
    assert (await verify(nc, expected_anchors=(fingerprint[:16],))).ok

    # Tampered: the newest anchor's heads changed, its signature kept.
    head = anchors[-1].heads[0].model_copy(update={"last_seq": 99})
    forged = anchors[-1].model_copy(update={"heads": [head], "prev_fingerprint": fingerprint})
    await js.publish(ANCHOR_SUBJECT, forged.to_bytes(), stream=ANCHOR_STREAM)
    # Missing: the second anchor removed.
    await js.delete_msg(ANCHOR_STREAM, 2)

    result = await verify(nc, expected_anchors=("0000-0000-0000-0000",))

    problems = {(f.position, f.problem.split(" (")[0].split(":")[0])
                for f in result.anchor_failures}
    assert (5, "signature does not verify by an anchor key of the keyring") in problems
    assert (5, "DOSSIER has no event at 99, the head it anchors") in problems
    assert (3, "anchors at 2..2 are missing") in problems
    assert (3, "does not follow the anchor before it") in problems
    assert (0, "the anchor 0000-0000-0000-0000") in {
        (f.position, f.problem.split(" (")[0]) for f in result.anchor_failures}
    assert not result.event_failures


async def test_a_log_rewritten_under_its_anchor_is_found(nc):
    """A backup or rebuilt log that lost an event: the anchor's digest no longer matches."""
    js = nc.jetstream()
    await js.add_stream(dataclasses.replace(event_stream_config("dossier"), deny_delete=False))
    store, signer = EventStore(nc, signer=DOSSIER_KEY), AnchorSigner(nc, ANCHOR_KEY, ("dossier",))
    await signer.setup()
    for day in (1, 2, 3):
        await append(store, new_id(), day)
    await signer.anchor_once()
    assert (await verify(nc)).ok

    await js.delete_msg("DOSSIER", 2)

    result = await verify(nc)
    assert [f.problem for f in result.anchor_failures] == [
        "DOSSIER up to 3 is not the log it anchors (an event before it removed, added or changed)"]
