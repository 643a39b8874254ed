"""A late entry's mark is inside the hash chain, and absent (not null) from other events."""

import json

from cchc.contracts.envelope import GENESIS_HASH, EventEnvelope, verify_chain
from cchc.contracts.late_entry import LateEntry

FIELDS = dict(
    event_id="0190d6b1-7c2a-7000-8000-000000000001", type="DossierResolved",
    schema_version=2, context="dossier", agency="STTTT", aggregate_id="d-1",
    aggregate_version=1, occurred_at="2022-07-13T10:00:00+07:00",
    recorded_at="2026-11-29T10:00:00+07:00", actor="admin", correlation_id="corr-1",
    payload={"outcome": "approved"},
)
LATE = LateEntry(window_hours=24, reason="nhập lại từ sổ giấy")


def test_an_event_entered_in_time_stores_no_late_entry_field():
    envelope = EventEnvelope(**FIELDS).sealed(GENESIS_HASH)
    assert "late_entry" not in json.loads(envelope.to_bytes())
    assert "late_entry" not in envelope.hashed_fields()


def test_the_late_entry_mark_travels_in_the_stored_bytes():
    envelope = EventEnvelope(**FIELDS, late_entry=LATE).sealed(GENESIS_HASH)
    again = EventEnvelope.from_bytes(envelope.to_bytes())
    assert again.late_entry == LATE and verify_chain([again])[0]


def test_removing_the_mark_breaks_the_chain():
    envelope = EventEnvelope(**FIELDS, late_entry=LATE).sealed(GENESIS_HASH)
    stripped = envelope.model_copy(update={"late_entry": None})
    assert verify_chain([stripped]) == (False, GENESIS_HASH, 0)
    changed = envelope.model_copy(update={"late_entry": LATE.model_copy(update={"reason": "x"})})
    assert verify_chain([changed])[0] is False
