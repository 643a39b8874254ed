"""Identifiers: time-ordered event ids, and ids derived from a caller's idempotency key."""

import uuid

import uuid_utils

_NAMESPACE = uuid.UUID("6f1d2a4e-8c1b-4c52-9a57-3c2f0a8e7b10")


def new_id() -> str:
    """A UUIDv7: unique and ordered by creation time."""
    return str(uuid_utils.uuid7())


def derived_id(*parts: str) -> str:
    """The same id for the same parts: a retried command maps to the same event and aggregate."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join(parts)))
