"""The AsyncAPI document: a valid AsyncAPI 3.0 document, generated from the event registry, whose
message schemas accept the events as they travel and refuse broken ones."""

import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft7Validator, Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from cchc.contracts import event_model, known_event_types
from cchc.contracts.asyncapi import asyncapi_document
from cchc.contracts.samples import SAMPLE_OLD_VERSIONS, SAMPLES

SPEC_SCHEMA = Path(__file__).parent / "asyncapi-schema" / "3.0.0.json"
DOC_URI = "urn:cchc:asyncapi"


@pytest.fixture(scope="module")
def document():
    return asyncapi_document()


def message_validator(document, event_type: str) -> Draft202012Validator:
    """A validator of one message's payload, its $refs resolved inside the document."""
    resource = Resource.from_contents(document, default_specification=DRAFT202012)
    registry = Registry().with_resource(DOC_URI, resource)
    schema = {"$ref": f"{DOC_URI}#/components/messages/{event_type}/payload"}
    return Draft202012Validator(schema, registry=registry)


def test_the_document_is_valid_asyncapi_3(document):
    spec = json.loads(SPEC_SCHEMA.read_text())
    errors = [f"{list(e.path)}: {e.message[:200]}" for e in Draft7Validator(spec).iter_errors(document)]
    assert not errors, "\n".join(errors)
    assert document["asyncapi"] == "3.0.0"
    json.dumps(document)  # plain JSON


def test_every_registered_event_has_its_channel_message_version_and_operation(document):
    types = known_event_types()
    assert len(types) >= 25
    assert sorted(document["channels"]) == types
    assert sorted(document["components"]["messages"]) == types
    samples = {s.event_type: s for s in SAMPLES}
    for event_type in types:
        model = event_model(event_type)
        channel = document["channels"][event_type]
        # The address is the subject pattern: a sample's subject fills its parameters.
        sample = samples[event_type]
        address = channel["address"].format(agency=sample.agency,
                                             aggregate_id=sample.aggregate_id)
        assert address == sample.subject()
        assert set(channel["parameters"]) == {"agency", "aggregate_id"}
        message = document["components"]["messages"][event_type]
        assert message["x-cchc-schema-version"] == model.schema_version
        assert message["x-cchc-context"] == model.context
        operation = document["operations"][f"receive{event_type}"]
        assert operation["action"] == "receive"
        assert operation["channel"] == {"$ref": f"#/channels/{event_type}"}
        # The payload schema of the event is pydantic's own.
        schema = document["components"]["schemas"][event_type]
        assert set(schema["properties"]) == set(model.model_fields)
    assert document["components"]["messages"]["DossierResolved"]["x-cchc-upcasts-from"] == [1]


@pytest.mark.parametrize("sample", SAMPLES + SAMPLE_OLD_VERSIONS,
                         ids=lambda s: f"{s.event_type}-v{s.schema_version()}")
def test_a_real_envelope_validates_against_its_message_schema(document, sample):
    validator = message_validator(document, sample.event_type)
    wire = json.loads(sample.envelope().to_bytes())
    errors = [e.message for e in validator.iter_errors(wire)]
    assert not errors, errors
    assert document["components"]["messages"][sample.event_type]["examples"] or sample.version


def test_a_broken_envelope_is_refused(document):
    sample = next(s for s in SAMPLES if s.event_type == "DossierReceived")
    validator = message_validator(document, "DossierReceived")
    good = json.loads(sample.envelope().to_bytes())
    assert validator.is_valid(good)
    missing = copy.deepcopy(good)
    del missing["payload"]["due_at"]
    wrong_enum = copy.deepcopy(good)
    wrong_enum["payload"]["channel"] = "fax"
    wrong_type = copy.deepcopy(good)
    wrong_type["type"] = "DossierResolved"
    newer = copy.deepcopy(good)
    newer["schema_version"] = 3
    bad_agency = copy.deepcopy(good)
    bad_agency["agency"] = "S.TTTT"
    for broken in (missing, wrong_enum, wrong_type, newer, bad_agency):
        assert not validator.is_valid(broken), broken


def test_the_module_prints_the_document():
    out = subprocess.run([sys.executable, "-m", "cchc.contracts.asyncapi"], check=True,
                         capture_output=True, timeout=60).stdout
    assert json.loads(out.decode("utf-8")) == asyncapi_document()
    assert "Thông tin và Truyền thông".encode() in out  # UTF-8, not \u escapes
