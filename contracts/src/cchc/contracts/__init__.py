"""CCHC Ledger's published language.

Everything another agency codes against lives here: the event envelope, the versioned event
schemas of each bounded context, their NATS subjects, and the command and query messages the
gateway exchanges with the services. Pydantic only, no I/O.
"""

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.events import Event, event_model, upcast_payload

__all__ = ["Event", "EventEnvelope", "event_model", "upcast_payload"]
