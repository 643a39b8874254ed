"""Anchors: each event stream's head, signed by a key the services do not hold.

An anchor signer (its own process and NATS user) periodically reads every event stream and
publishes one :class:`Anchor` to the ``ANCHORS`` stream. For each stream it names the last
position, the chain hash of the event there, and a digest over every event up to it (the
*stream digest*: each event's position and chain hash folded in log order, :func:`fold_digest`),
so an anchor commits to the whole log up to that position, not only to the last aggregate.
Anchors are chained too (``prev_fingerprint``): one removed from between others is noticed.

``signed_since`` is the first position of the stream whose event was signed: after it, an
unsigned event is a forgery, before it a legacy event (written before signing existed).

The signature is Ed25519 over :meth:`Anchor.signing_input`; its fingerprint (sha256 of the
whole anchor, signature included) is what a report prints (:func:`short_fingerprint`).
"""

import hashlib

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from cchc.contracts.envelope import GENESIS_HASH, canonical_json

ANCHOR_STREAM = "ANCHORS"
ANCHOR_SUBJECT = "audit.anchors"
ANCHOR_SIGNATURE_DOMAIN = b"cchc-anchor-signature-v1\n"
DIGEST_START = GENESIS_HASH


class StreamHead(BaseModel):
    model_config = ConfigDict(frozen=True)

    stream: str = Field(examples=["DOSSIER"])
    last_seq: int = Field(ge=0, description="the stream's last position when signed")
    last_hash: str = Field(description="chain hash of the event at last_seq")
    digest: str = Field(description="stream digest of every event up to last_seq (fold_digest)")
    events: int = Field(ge=0, description="events folded into the digest")
    signed_since: int | None = Field(
        default=None, description="first position holding a signed event (None: none yet)")


class Anchor(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = 1
    signed_at: AwareDatetime
    key_id: str
    prev_fingerprint: str = GENESIS_HASH
    heads: list[StreamHead]
    signature: str = ""

    def signing_input(self) -> bytes:
        return ANCHOR_SIGNATURE_DOMAIN + canonical_json(
            self.model_dump(mode="json", exclude={"signature"}))

    def fingerprint(self) -> str:
        return hashlib.sha256(canonical_json(self.model_dump(mode="json"))).hexdigest()

    def head(self, stream: str) -> StreamHead | None:
        return next((h for h in self.heads if h.stream == stream), None)

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Anchor":
        return cls.model_validate_json(data)


def fold_digest(digest: str, position: int, event_hash: str) -> str:
    """The stream digest after the event at ``position`` with chain hash ``event_hash``."""
    return hashlib.sha256(f"{digest} {position} {event_hash}".encode()).hexdigest()


def short_fingerprint(fingerprint: str) -> str:
    """The first 64 bits, as four groups: what a printed report shows (``3f2a-9c1b-8e7d-6a5f``)."""
    head = fingerprint[:16]
    return "-".join(head[i:i + 4] for i in range(0, 16, 4))
