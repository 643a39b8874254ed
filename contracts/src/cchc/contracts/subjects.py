"""NATS subject names of the event log and of the services' request/reply endpoints.

Event subject: ``cchc.<context>.<agency>.<aggregate_id>.<EventType>``. The agency token lets NATS
permissions give each agency exactly its own events. Province-wide facts (calendar declarations)
use the reserved agency token ``_province``.
"""

import re

ROOT = "cchc"
PROVINCE = "_province"
CONTEXTS = ("dossier", "planning", "scoring")

# A subject token: no dots, no wildcards, no whitespace.
TOKEN_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_TOKEN = re.compile(TOKEN_PATTERN)


def is_token(value: str) -> bool:
    return bool(_TOKEN.match(value))


def stream_name(context: str) -> str:
    return context.upper()


def context_subjects(context: str) -> str:
    return f"{ROOT}.{context}.>"


def event_subject(context: str, agency: str, aggregate_id: str, event_type: str) -> str:
    for token in (context, agency, aggregate_id, event_type):
        if not is_token(token):
            raise ValueError(f"not a subject token: {token!r}")
    return f"{ROOT}.{context}.{agency}.{aggregate_id}.{event_type}"


def aggregate_subjects(context: str, aggregate_id: str) -> str:
    """Every event of one aggregate, whatever its agency: the optimistic-concurrency filter."""
    return f"{ROOT}.{context}.*.{aggregate_id}.>"


def agency_subjects(context: str, agency: str) -> str:
    return f"{ROOT}.{context}.{agency}.>"


def parse_event_subject(subject: str) -> tuple[str, str, str, str]:
    """(context, agency, aggregate_id, event_type) of an event subject."""
    parts = subject.split(".")
    if len(parts) != 5 or parts[0] != ROOT:
        raise ValueError(f"not an event subject: {subject!r}")
    return parts[1], parts[2], parts[3], parts[4]


def service_subject(service: str, message: str) -> str:
    """Request/reply endpoint of a service; outside ``cchc.>`` so no stream ever captures it."""
    return f"svc.{service}.{message}"
