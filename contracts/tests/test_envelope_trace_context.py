"""The envelope's optional trace context: outside the hash chain, absent from events without it.

The pinned hashes were computed by the envelope as it was before ``traceparent`` existed: every
event already in a log keeps verifying, and its stored bytes stay the same.
"""

import json

from cchc.contracts.envelope import GENESIS_HASH, EventEnvelope, verify_chain

FIELDS = dict(
    event_id="0190d6b1-7c2a-7000-8000-000000000001", type="CalendarDayDeclared",
    schema_version=1, context="dossier", agency="_province", aggregate_id="cal-2022",
    aggregate_version=1, occurred_at="2022-01-03T08:00:00+07:00",
    recorded_at="2022-01-03T08:00:01+07:00", actor="admin", correlation_id="corr-1",
    payload={"date": "2022-01-01", "kind": "day_off", "note": "Tết"},
)
HASH_1 = "5ba7ee203f0480400942e5631f93b6a4a4a625b96233c5254b0354dfa30c1151"
HASH_2 = "d1f219e9717c22c6248cec69f889a44eb174a0f5c5b65337c2c465e61799157a"
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def chain(traceparents: tuple[str | None, str | None]) -> list[EventEnvelope]:
    first = EventEnvelope(**FIELDS, traceparent=traceparents[0]).sealed(GENESIS_HASH)
    second = EventEnvelope(**{**FIELDS, "aggregate_version": 2},
                           traceparent=traceparents[1]).sealed(first.hash)
    return [first, second]


def test_an_envelope_without_trace_context_hashes_and_stores_as_before_the_field():
    envelopes = chain((None, None))
    assert [e.hash for e in envelopes] == [HASH_1, HASH_2]
    assert verify_chain(envelopes) == (True, HASH_2, None)
    stored = json.loads(envelopes[0].to_bytes())
    assert "traceparent" not in stored and "position" not in stored


def test_trace_context_is_stored_but_outside_the_hash():
    envelopes = chain((TRACEPARENT, None))
    assert [e.hash for e in envelopes] == [HASH_1, HASH_2]
    assert verify_chain(envelopes) == (True, HASH_2, None)
    read_back = EventEnvelope.from_bytes(envelopes[0].to_bytes(), position=7)
    assert read_back.traceparent == TRACEPARENT and read_back.position == 7
    assert verify_chain([read_back, envelopes[1]])[0]


def test_stripping_or_changing_trace_context_leaves_the_chain_valid_but_not_the_facts():
    first, second = chain((TRACEPARENT, TRACEPARENT))
    stripped = [e.model_copy(update={"traceparent": None}) for e in (first, second)]
    assert verify_chain(stripped) == (True, HASH_2, None)
    bent = first.model_copy(update={"actor": "someone else"})
    assert verify_chain([bent, second]) == (False, GENESIS_HASH, 0)


def test_an_older_reader_ignoring_the_field_still_verifies_a_new_event():
    """A verifier on an older contracts package drops the unknown field and recomputes."""
    first = chain((TRACEPARENT, None))[0]
    as_old_reader_sees_it = {k: v for k, v in json.loads(first.to_bytes()).items()
                             if k != "traceparent"}
    assert EventEnvelope.model_validate(as_old_reader_sees_it).compute_hash() == first.hash
