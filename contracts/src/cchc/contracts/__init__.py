"""CCHC Ledger's published language.

Everything another agency codes against lives here: the event envelope, the versioned event
schemas of each bounded context, their NATS subjects, and the command and query messages the
gateway exchanges with the services. Pydantic only, no I/O.

Importing the package registers every event type, so ``decode_event`` knows them all.
"""

__version__ = "1.1.0"

from cchc.contracts import dossier, planning, scoring  # noqa: E402,F401 - registers the events
from cchc.contracts.envelope import EventEnvelope  # noqa: E402
from cchc.contracts.events import (  # noqa: E402
    Event,
    decode_event,
    event_model,
    known_event_types,
    upcast_payload,
)

__all__ = [
    "Event", "EventEnvelope", "decode_event", "event_model", "known_event_types", "upcast_payload",
]
