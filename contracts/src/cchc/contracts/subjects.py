"""NATS subject names of the event log and of the services' request/reply endpoints.

Event subject (scheme 2): ``cchc.<context>.<agency>.<aggregate_id>``, one subject per aggregate.
The event type travels in the ``Cchc-Event-Type`` header and in the envelope, not in the subject:
nats-server keeps ~300 bytes of memory per distinct subject for ever, so a type token multiplied
that by the kinds of event an aggregate has. The agency token lets NATS permissions give each
agency exactly its own events. Province-wide facts (calendar declarations) use the reserved
agency token ``_province``.

Scheme 1 (``cchc.<context>.<agency>.<aggregate_id>.<EventType>``) is what logs written before
it hold; ``cchc migrate-subjects`` rewrites them with ``SCHEME_1_TO_2``.
"""

import os
import re
import socket

SUBJECT_SCHEME = 2
EVENT_TYPE_HEADER = "Cchc-Event-Type"
# On an event put back from an archive (``cchc archive restore``): the position it was first
# stored at. The event is the same (its bytes, id and hash); a subscriber that saw it at that
# position has seen it already.
RESTORED_FROM_HEADER = "Cchc-Restored-From"
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


def stream_subjects(context: str) -> str:
    """What a context's stream stores: event subjects of the current scheme and nothing else,
    so an event published on any other shape of subject is refused, not stored beside the
    history where a reader by aggregate would not see it."""
    return f"{ROOT}.{context}.*.*"


def event_subject(context: str, agency: str, aggregate_id: str) -> str:
    """The subject of every event of one aggregate."""
    for token in (context, agency, aggregate_id):
        if not is_token(token):
            raise ValueError(f"not a subject token: {token!r}")
    return f"{ROOT}.{context}.{agency}.{aggregate_id}"


def aggregate_subjects(context: str, aggregate_id: str) -> str:
    """One aggregate's subject whatever its agency: to read it knowing only its id, and to make
    sure a new aggregate's id is not taken under another agency."""
    return f"{ROOT}.{context}.*.{aggregate_id}"


def agency_subjects(context: str, agency: str) -> str:
    return f"{ROOT}.{context}.{agency}.>"


def parse_event_subject(subject: str) -> tuple[str, str, str]:
    """(context, agency, aggregate_id) of an event subject."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != ROOT:
        raise ValueError(f"not an event subject: {subject!r}")
    return parts[1], parts[2], parts[3]


def scheme_1_subjects(context: str) -> str:
    """Every event subject of a scheme-1 log of ``context`` (five tokens)."""
    return f"{ROOT}.{context}.*.*.*"


def scheme_1_to_2(context: str) -> tuple[str, str]:
    """NATS subject transform (source, destination) from scheme 1 to scheme 2: the type token
    goes; the agency and the aggregate stay."""
    return scheme_1_subjects(context), f"{ROOT}.{context}.{{{{wildcard(1)}}}}.{{{{wildcard(2)}}}}"


def service_subject(service: str, message: str) -> str:
    """Request/reply endpoint of a service; outside ``cchc.>`` so no stream ever captures it."""
    return f"svc.{service}.{message}"


def instance_subject(service: str, message: str, instance: str) -> str:
    """The endpoint of one running instance of a service, outside its queue group: what a
    container's probe asks, so that the answer is about that very replica."""
    return f"{service_subject(service, message)}.{instance}"


def this_instance() -> str:
    """This process's instance name: ``$CCHC_INSTANCE``, else the host name (a Kubernetes pod's
    name, a compose container's id), as one subject token. A probe run in the same container
    gets the same name."""
    name = os.environ.get("CCHC_INSTANCE") or socket.gethostname() or "local"
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:64]
