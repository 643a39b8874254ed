"""Whether an event was written by the service of its context, for anyone who receives one.

Each service signs the chain hash of every event it appends with its own Ed25519 key. The
installation publishes the public half of every key it ever used, with its owner (a context, or
``anchor``): the keyring, ``GET /api/v1/audit/keys``. An event is genuine when its hash is the
hash of its content and that hash is signed by a key of the keyring owned by the event's
context, so that nobody who can publish on NATS (an operator, a stolen password) can pass off
an event of their own, nor alter one in transit.

Checking needs ``cryptography`` (``pip install "cchc-contracts[verify]"``); reading a keyring
does not.
"""

import base64
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from cchc.contracts.envelope import EventEnvelope

ALGORITHM = "Ed25519"


class PublicKey(BaseModel):
    model_config = ConfigDict(frozen=True)

    key_id: str
    owner: str
    algorithm: str = ALGORITHM
    public_key: str  # base64 of the 32 raw bytes

    def verifies(self, signature: str, data: bytes) -> bool:
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            raw = base64.b64decode(self.public_key)
            Ed25519PublicKey.from_public_bytes(raw).verify(base64.b64decode(signature), data)
        except (InvalidSignature, ValueError):
            return False
        return True


class Keyring(BaseModel):
    """Every public key ever used, by id (a rotated key stays: its events still verify)."""

    keys: list[PublicKey] = []

    def get(self, key_id: str | None) -> PublicKey | None:
        return next((key for key in self.keys if key.key_id == key_id), None)

    def with_key(self, key: PublicKey) -> "Keyring":
        return self if self.get(key.key_id) else Keyring(keys=[*self.keys, key])

    def verifies(self, key_id: str | None, signature: str | None, data: bytes,
                 owner: str | None = None) -> bool:
        """A signature by ``key_id``, a key of this ring (of ``owner``, when given)."""
        key = self.get(key_id)
        if key is None or signature is None or (owner is not None and key.owner != owner):
            return False
        return key.verifies(signature, data)

    @classmethod
    def from_file(cls, path: str | Path) -> "Keyring":
        return cls.model_validate_json(Path(path).read_text())

    @classmethod
    def from_json(cls, text: str) -> "Keyring":
        data = json.loads(text)
        return cls(keys=data) if isinstance(data, list) else cls.model_validate(data)

    def to_json(self) -> str:
        return self.model_dump_json(indent=2) + "\n"


def not_genuine(envelope: EventEnvelope, keyring: Keyring) -> str | None:
    """Why ``envelope`` is not an event its context's service wrote, or None when it is."""
    if envelope.compute_hash() != envelope.hash:
        return "its hash is not the hash of its content (changed after it was written)"
    if envelope.signature is None:
        return "unsigned"
    key = keyring.get(envelope.key_id)
    if key is None:
        return f"signed with {envelope.key_id}, a key the keyring does not hold"
    if key.owner != envelope.context:
        return f"signed with the {key.owner} key, not the {envelope.context} one"
    if not key.verifies(envelope.signature, envelope.signing_input()):
        return "its signature does not verify"
    return None
