"""The event registry: every type has a sample that decodes; older versions are upcast."""

import pytest

from cchc.contracts import decode_event, event_model, known_event_types, upcast_payload
from cchc.contracts.dossier import DossierResolved, Outcome
from cchc.contracts.events import upcaster_versions
from cchc.contracts.samples import SAMPLE_OLD_VERSIONS, SAMPLES


def test_every_event_type_has_a_sample_that_decodes_at_its_current_version():
    assert sorted(s.event_type for s in SAMPLES) == known_event_types()
    for sample in SAMPLES:
        event = decode_event(sample.event_type, sample.schema_version(), sample.payload)
        assert type(event) is event_model(sample.event_type)
        # What a service writes (model_dump in JSON mode) is the sample again.
        assert event.model_dump(mode="json") == sample.payload, sample.event_type


def test_every_older_version_has_an_upcaster_chain_to_the_current_one():
    for event_type in known_event_types():
        current = event_model(event_type).schema_version
        assert upcaster_versions(event_type) == list(range(1, current)), event_type


def test_a_v1_resolution_is_upcast_to_v2_with_an_empty_reason():
    (old,) = [s for s in SAMPLE_OLD_VERSIONS
              if s.event_type == "DossierResolved" and s.version == 1]
    assert old.version == 1 and "reason" not in old.payload
    event = decode_event("DossierResolved", 1, old.payload)
    assert isinstance(event, DossierResolved)
    assert event.outcome is Outcome.REJECTED and event.reason == ""
    assert upcast_payload("DossierResolved", 1, old.payload) == {
        **old.payload, "reason": "", "timeliness_766": None}
    # The upcaster does not touch the stored payload, and a v2 payload is read as it is.
    assert "reason" not in old.payload
    given = {**old.payload, "reason": "Hồ sơ không đủ điều kiện"}
    assert decode_event("DossierResolved", 2, given).reason == "Hồ sơ không đủ điều kiện"


@pytest.mark.parametrize(("event_type", "version", "field"), [
    ("DossierResolved", 2, "timeliness_766"),
    ("SupplementRequested", 1, "irregular"),
    ("DossierSupplemented", 1, "due_at_766"),
])
def test_events_written_before_the_766_clock_read_as_not_judged(event_type, version, field):
    (old,) = [s for s in SAMPLE_OLD_VERSIONS if s.event_type == event_type and s.version == version]
    assert field not in old.payload
    assert getattr(decode_event(event_type, version, old.payload), field) is None


def test_a_version_newer_than_the_reader_is_refused_not_guessed():
    payload = next(s.payload for s in SAMPLES if s.event_type == "DossierResolved")
    with pytest.raises(ValueError, match="newer"):
        decode_event("DossierResolved", DossierResolved.schema_version + 1, payload)
    with pytest.raises(LookupError):
        decode_event("NoSuchEvent", 1, {})
