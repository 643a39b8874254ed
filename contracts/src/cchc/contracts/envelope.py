"""The envelope every event travels in, and the hash chain over one aggregate's events.

The chain covers the fact (type, payload, aggregate, times) and who caused it (actor, correlation
and causation ids). It does not cover ``traceparent``: telemetry, not history. Leaving it out
keeps every event stored before it existed verifying as before, lets a verifier built on an
older ``contracts`` (which ignores the unknown field) still verify new events, and lets an
operator strip trace context from an exported log without breaking the chain.

The signature (``key_id``, ``signature``) is outside the chain for the same reasons: it signs
the event's chain hash (:meth:`EventEnvelope.signing_input`), which already commits to every
hashed field and to the aggregate's history before it; an event stored before signing existed
keeps its bytes and its hash. Checking a signature needs a key, so it lives outside the
contracts (``cchc.runtime.event_signatures``); the algorithm is Ed25519 over these bytes.
"""

import hashlib
import json
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cchc.contracts.late_entry import LateEntry

GENESIS_HASH = "0" * 64
# Not part of the chain: the hash itself, the position (known after storing), trace context,
# the signature over the hash.
UNHASHED = frozenset({"hash", "position", "traceparent", "key_id", "signature"})
# Part of the chain when present, absent (not null) otherwise: events stored before the field
# existed keep their bytes and their hashes.
HASHED_WHEN_SET = ("late_entry",)
# Optional fields stored only when set: an envelope without them keeps its earlier bytes.
STORED_WHEN_SET = ("traceparent", "key_id", "signature", *HASHED_WHEN_SET)
SIGNATURE_DOMAIN = b"cchc-event-signature-v1\n"


class EventEnvelope(BaseModel):
    """One stored event. ``position`` is its stream sequence, known only once it is stored."""

    model_config = ConfigDict(frozen=True)

    event_id: str
    type: str
    schema_version: int = Field(ge=1)
    context: str
    agency: str
    aggregate_id: str
    aggregate_version: int = Field(ge=1)
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    actor: str
    correlation_id: str
    causation_id: str | None = None
    payload: dict[str, Any]
    prev_hash: str = GENESIS_HASH
    hash: str = ""
    position: int | None = None
    traceparent: str | None = Field(
        default=None,
        description="W3C trace context of the span that appended the event (outside the hash "
        "chain), so what the event causes can link to the command that caused it",
        examples=["00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"],
    )
    late_entry: LateEntry | None = Field(
        default=None,
        description="present when the business time (occurred_at) was older than the entry "
        "window when the event was recorded: entered after the fact by admin or home_affairs",
    )

    key_id: str | None = Field(
        default=None,
        description="the signing key of the service that appended the event (GET "
        "/api/v1/audit/keys); absent on events stored before signing existed",
        examples=["dossier-3f2a9c1b8e7d6a5f"],
    )
    signature: str | None = Field(
        default=None,
        description="Ed25519 signature (base64) of signing_input(): the domain line "
        "'cchc-event-signature-v1' and the event's chain hash",
    )

    def hashed_fields(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude=UNHASHED | self._absent())

    def _absent(self) -> set[str]:
        return {name for name in HASHED_WHEN_SET if getattr(self, name) is None}

    def compute_hash(self) -> str:
        return chain_hash(self.prev_hash, self.hashed_fields())

    def sealed(self, prev_hash: str) -> "EventEnvelope":
        """This envelope chained after ``prev_hash``."""
        unsealed = self.model_copy(update={"prev_hash": prev_hash, "hash": ""})
        return unsealed.model_copy(update={"hash": unsealed.compute_hash()})

    def signing_input(self) -> bytes:
        """What the appending service signs: its chain hash, under a domain line."""
        return SIGNATURE_DOMAIN + self.hash.encode()

    def to_bytes(self) -> bytes:
        # An envelope without trace context, signature or late entry is stored byte for byte as
        # before those fields existed.
        unstored = {"position", *(name for name in STORED_WHEN_SET if getattr(self, name) is None)}
        return self.model_dump_json(exclude=unstored).encode()

    @classmethod
    def from_bytes(cls, data: bytes, position: int | None = None) -> "EventEnvelope":
        envelope = cls.model_validate_json(data)
        if position:
            # Stamped on the new object before anyone else holds it, where model_copy would
            # copy it whole: a replay decodes every event of the log through here.
            envelope.__dict__["position"] = position
            envelope.__pydantic_fields_set__.add("position")
        return envelope


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode() + canonical_json(fields)).hexdigest()


def verify_chain(envelopes: list[EventEnvelope]) -> tuple[bool, str, int | None]:
    """(valid, head hash, index of the first broken link or None)."""
    prev = GENESIS_HASH
    for index, envelope in enumerate(envelopes):
        if envelope.prev_hash != prev or envelope.compute_hash() != envelope.hash:
            return False, prev, index
        prev = envelope.hash
    return True, prev, None
