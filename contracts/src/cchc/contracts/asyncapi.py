"""The AsyncAPI 3.0 document of the event log, generated from the event registry.

Every registered event type is a channel (its subject pattern), a message (the envelope with that
type's payload schema, its schema version, a sample) and a ``receive`` operation: the document
describes what a subscriber of ``cchc.>`` receives. ``asyncapi_document()`` is pure; the gateway
serves it at ``/asyncapi``; ``python -m cchc.contracts.asyncapi`` (or ``cchc-asyncapi``) prints it.
"""

import json
import sys
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from cchc.contracts import __version__
from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import event_model, known_event_types, upcaster_versions
from cchc.contracts.samples import SAMPLES
from cchc.contracts.subjects import (
    CONTEXTS,
    EVENT_TYPE_HEADER,
    PROVINCE,
    RESTORED_FROM_HEADER,
    ROOT,
    SUBJECT_SCHEME,
    TOKEN_PATTERN,
    stream_name,
    stream_subjects,
)

ASYNCAPI_VERSION = "3.0.0"
SCHEMA_REF = "#/components/schemas/{model}"

DESCRIPTION = f"""\
The event log of CCHC Ledger (theo dõi cải cách hành chính): every fact about the province's
administrative-procedure dossiers, reform plans and indexes, as immutable events on NATS JetStream.

* One stream per bounded context: {", ".join(f"`{stream_name(c)}` on `{stream_subjects(c)}`" for c in CONTEXTS)}.
* Subject of an event (subject scheme {SUBJECT_SCHEME}): `{ROOT}.<context>.<agency>.<aggregate_id>`, one
  subject per aggregate; the event type is in the `{EVENT_TYPE_HEADER}` header (filter on it) and
  in the envelope. Province-wide facts use the agency token `{PROVINCE}`. Logs of scheme 1
  (`{ROOT}.<context>.<agency>.<aggregate_id>.<EventType>`) are migrated by `cchc migrate-subjects`. An agency's NATS user reads `{ROOT}.*.<AGENCY>.>` and may
  keep one durable pull consumer per stream named `agency-<AGENCY>`, filtered to
  `{ROOT}.<context>.<AGENCY>.>` (see `contracts/examples/follow_agency.py`).
* Every message is an envelope (`EventEnvelope`): event id (also the `Nats-Msg-Id` header),
  type, schema version, aggregate id and version, business time (`occurred_at`) and recording
  time, actor, correlation and causation ids, the payload, and a SHA-256 hash chain over the
  aggregate's events (`prev_hash`, `hash`). The position of an event is its stream sequence.
  An envelope may also carry `traceparent`, the W3C trace context of the command that appended
  it (present only on events written with tracing; outside the hash chain).
* Signed history: the service that appends an event signs it (`key_id`, `signature`: Ed25519
  over the line `cchc-event-signature-v1` and the event's chain hash; outside the chain). The
  public keys are the gateway's `GET /api/v1/audit/keys` and this document's
  `info.x-cchc-signing-keys` as the gateway serves it. Events stored before signing began carry
  neither field. An anchor signer, whose key no service holds, periodically signs every stream's
  head into the stream `ANCHORS` (subject `audit.anchors`; `cchc.contracts.anchors`).
* A closed year's finished aggregates may leave the stream for the installation's archive
  (`cchc archive`, deploy/README.md "Archived years"): their positions become holes, and a
  durable consumer created after that does not see them. Restored, they come back at new
  positions with the `{RESTORED_FROM_HEADER}` header naming their first position.
* Events are never edited. A payload of an older schema version is upcast on read: decode with
  `cchc.contracts.decode_event(type, schema_version, payload)` (`pip install` the `contracts/`
  folder; it needs pydantic only). `x-cchc-upcasts-from` lists the older versions of a type.
"""


def _schemas() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """(JSON Schema refs of each event model and of the envelope, every schema by name)."""
    models: list[type[BaseModel]] = [EventEnvelope, *(event_model(t) for t in known_event_types())]
    refs, top = models_json_schema([(m, "validation") for m in models], ref_template=SCHEMA_REF)
    by_model = {model.__name__: refs[(model, "validation")] for model in models}
    return by_model, top.get("$defs", {})


def _summary(model: type[BaseModel], context: str) -> str:
    doc = (model.__doc__ or "").strip()
    first = doc.split("\n\n")[0].replace("\n", " ") if doc else ""
    return first or f"{model.__name__}: an event of the {context} context"


def asyncapi_document() -> dict[str, Any]:
    """The AsyncAPI 3.0 document of every registered event type (a plain JSON-able dict)."""
    refs, schemas = _schemas()
    samples = {sample.event_type: sample for sample in SAMPLES}
    schemas["EventHeaders"] = {
        "type": "object",
        "description": "NATS headers of a stored event",
        "properties": {
            "Nats-Msg-Id": {"type": "string", "description": "the event id (de-duplication)"},
            EVENT_TYPE_HEADER: {"type": "string",
                                "description": "the event type: what a subscriber filters on"},
            RESTORED_FROM_HEADER: {
                "type": "string", "pattern": "^[0-9]+$",
                "description": "only on an event put back from an archive (cchc archive "
                "restore): the position it was first stored at. The same event (bytes, id, "
                "hash): a subscriber that saw it there skips it"},
        },
        "required": ["Nats-Msg-Id", EVENT_TYPE_HEADER],
    }
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type in known_event_types():
        model = event_model(event_type)
        context, version = model.context, model.schema_version
        channels[event_type] = {
            # Every type of a context shares the aggregate's subject; the header tells them apart.
            "address": f"{ROOT}.{context}.{{agency}}.{{aggregate_id}}",
            "title": event_type,
            "description": f"Stream `{stream_name(context)}`. {_summary(model, context)}",
            "parameters": {
                "agency": {"description": "the agency's code (subject token), or "
                                          f"`{PROVINCE}` for a province-wide fact"},
                "aggregate_id": {"description": "the aggregate the event belongs to"},
            },
            "messages": {event_type: {"$ref": f"#/components/messages/{event_type}"}},
            "tags": [{"name": context}],
        }
        operations[f"receive{event_type}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{event_type}"},
            "messages": [{"$ref": f"#/channels/{event_type}/messages/{event_type}"}],
            "summary": f"{event_type} events, from a subscription or consumer on "
                       f"`{stream_name(context)}`",
        }
        message: dict[str, Any] = {
            "name": event_type,
            "title": f"{event_type} v{version}",
            "summary": _summary(model, context),
            "contentType": "application/json",
            "headers": {"allOf": [
                {"$ref": SCHEMA_REF.format(model="EventHeaders")},
                {"type": "object", "properties": {EVENT_TYPE_HEADER: {"const": event_type}}},
            ]},
            "payload": {
                "allOf": [
                    refs["EventEnvelope"],
                    {
                        "type": "object",
                        "properties": {
                            "type": {"const": event_type},
                            "context": {"const": context},
                            "schema_version": {
                                "type": "integer", "minimum": 1, "maximum": version,
                                "description": f"{version} when written now; an older one is "
                                               "upcast on read",
                            },
                            "agency": {"type": "string", "pattern": TOKEN_PATTERN},
                            "aggregate_id": {"type": "string", "pattern": TOKEN_PATTERN},
                            "payload": refs[event_type],
                        },
                    },
                ],
            },
            "tags": [{"name": context}],
            "x-cchc-context": context,
            "x-cchc-stream": stream_name(context),
            "x-cchc-schema-version": version,
            "x-cchc-upcasts-from": upcaster_versions(event_type),
        }
        sample = samples.get(event_type)
        if sample is not None:
            envelope = sample.envelope()
            message["examples"] = [{
                "name": f"{event_type}-sample",
                "summary": f"on {sample.subject()}",
                "headers": {"Nats-Msg-Id": envelope.event_id, EVENT_TYPE_HEADER: event_type},
                "payload": json.loads(envelope.to_bytes()),  # as stored
            }]
        messages[event_type] = message
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "id": "urn:vn:cchc-ledger:events",
        "info": {
            "title": "CCHC Ledger events",
            "version": __version__,
            "description": DESCRIPTION,
            "x-cchc-subject-scheme": SUBJECT_SCHEME,
            "tags": [{"name": context, "description": f"stream {stream_name(context)}"}
                     for context in CONTEXTS],
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": dict(sorted(schemas.items()))},
    }


def main() -> None:
    """Print the document as JSON (UTF-8: the Vietnamese in descriptions stays as it is)."""
    text = json.dumps(asyncapi_document(), ensure_ascii=False, indent=2)
    sys.stdout.buffer.write(text.encode() + b"\n")


if __name__ == "__main__":
    main()
