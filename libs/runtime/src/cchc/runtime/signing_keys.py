"""Ed25519 signing keys: where a process finds its own, and the public keyring verifiers use.

A private key is 32 random bytes, written as one line of base64: in a file (the embedded
default's data folder, or a mounted secret) or in an environment variable (a compose env file).
Its id is ``<owner>-<first 16 hex digits of sha256(public key)>`` (``dossier-3f2a9c1b8e7d6a5f``):
a new key is a new id, so a rotated key never shadows the old one, whose events still verify
against the keyring.

The keyring is public: every key id ever used, with its owner (a service, or ``anchor``) and its
public key. Verifiers take it from configuration (the data folder's ``signing-keys/keyring.json``,
a file given to ``cchc verify``, the gateway's settings), never from the log a forger could
write to.
"""

import base64
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

# The public half lives in the contracts, where the agencies that receive events check them.
from cchc.contracts.signatures import ALGORITHM, Keyring, PublicKey  # noqa: F401 - re-exported
_RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


class SigningKeyError(Exception):
    """A key that cannot be read (not 32 bytes of base64)."""


def key_id_for(owner: str, public_raw: bytes) -> str:
    return f"{owner}-{hashlib.sha256(public_raw).hexdigest()[:16]}"


@dataclass(frozen=True)
class SigningKey:
    """A process's own private key."""

    owner: str
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(*_RAW)

    @property
    def key_id(self) -> str:
        return key_id_for(self.owner, self.public_raw)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private.sign(data)).decode()

    def public_key(self) -> "PublicKey":
        return PublicKey(key_id=self.key_id, owner=self.owner,
                         public_key=base64.b64encode(self.public_raw).decode())


def new_private_key_text() -> str:
    raw = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
        serialization.NoEncryption())
    return base64.b64encode(raw).decode()


def signing_key_from_text(owner: str, text: str) -> SigningKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
        return SigningKey(owner, Ed25519PrivateKey.from_private_bytes(raw))
    except ValueError as error:
        raise SigningKeyError(f"the {owner} signing key is not 32 bytes of base64") from error


def load_signing_key(owner: str, value: str | None = None,
                     file: str | Path | None = None) -> SigningKey | None:
    """The key given as text (an env variable) or in a file (a mounted secret); None: neither."""
    if value:
        return signing_key_from_text(owner, value)
    if file:
        return signing_key_from_text(owner, Path(file).read_text())
    return None


def ensure_key_file(path: Path, owner: str) -> SigningKey:
    """The key kept at ``path``, made at first use (mode 0600 from its creation)."""
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(new_private_key_text() + "\n")
    return signing_key_from_text(owner, path.read_text())
