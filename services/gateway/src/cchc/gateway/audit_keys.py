"""The keyring the gateway publishes and audits by: the services' and the anchor signer's public
keys, from its settings (never from the log, which a forger could write to)."""

from cchc.gateway.config import GatewaySettings
from cchc.runtime.signing_keys import Keyring


def published_keyring(settings: GatewaySettings) -> Keyring:
    """Read at each use: a small file, and a rotated key appears without a restart."""
    if settings.audit_keyring:
        return Keyring.from_json(settings.audit_keyring)
    if settings.audit_keyring_file:
        try:
            return Keyring.from_file(settings.audit_keyring_file)
        except FileNotFoundError:
            return Keyring()
    return Keyring()
