"""Events signed by the service that appends them, and what a verifier makes of a signature.

A service signs each event's chain hash with its own key (``cchc.runtime.signing_keys``) as it
appends it. A verifier judges each event:

- ``signed``: a valid signature by a key of the keyring whose owner is the event's context
  (the dossier service signs dossier events, and no other key may);
- ``unsigned``: no signature, on an event written before signing began in its stream: a legacy
  event, not a failure;
- ``invalid``: a signature that does not verify, a key the keyring does not know or of another
  owner, or no signature on an event written after signing began (at or after the stream's
  first signed position, or after a signed event of the same aggregate): a forgery.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from cchc.contracts.envelope import EventEnvelope
from cchc.runtime.signing_keys import Keyring, SigningKey


class SignatureStatus(StrEnum):
    SIGNED = "signed"
    UNSIGNED = "unsigned"
    INVALID = "invalid"


@dataclass(frozen=True)
class SignatureCheck:
    status: SignatureStatus
    key_id: str | None = None
    reason: str | None = None


def sign_envelope(envelope: EventEnvelope, key: SigningKey) -> EventEnvelope:
    """``envelope`` (sealed: its hash set) with ``key``'s signature."""
    return envelope.model_copy(update={"key_id": key.key_id,
                                       "signature": key.sign(envelope.signing_input())})


def check_signature(envelope: EventEnvelope, keyring: Keyring,
                    signed_since: int | None) -> SignatureCheck:
    """One event's signature; ``signed_since``: the first signed position of its stream."""
    if envelope.signature is None:
        position = envelope.position or 0
        if signed_since is not None and position >= signed_since:
            return SignatureCheck(
                SignatureStatus.INVALID, None,
                f"unsigned, but its stream is signed from position {signed_since}")
        return SignatureCheck(SignatureStatus.UNSIGNED)
    key = keyring.get(envelope.key_id)
    if key is None:
        return SignatureCheck(SignatureStatus.INVALID, envelope.key_id, "unknown signing key")
    if key.owner != envelope.context:
        return SignatureCheck(SignatureStatus.INVALID, envelope.key_id,
                              f"signed with the {key.owner} key, not the {envelope.context} one")
    if not key.verifies(envelope.signature, envelope.signing_input()):
        return SignatureCheck(SignatureStatus.INVALID, envelope.key_id, "signature does not verify")
    return SignatureCheck(SignatureStatus.SIGNED, envelope.key_id)


def first_signed_position(envelopes: Iterable[EventEnvelope]) -> int | None:
    return next((e.position for e in envelopes if e.signature is not None), None)


def check_history(envelopes: list[EventEnvelope], keyring: Keyring,
                  signed_since: int | None) -> list[SignatureCheck]:
    """Every event of one aggregate: after a signed event of its own, an unsigned one is invalid
    even where the stream's first signed position is not known (no anchor yet)."""
    own = first_signed_position(envelopes)
    since = min((p for p in (signed_since, own) if p is not None), default=None)
    return [check_signature(envelope, keyring, since) for envelope in envelopes]
