"""Versioned event schemas: the base class, the registry by (type, version) and upcasting.

An event class declares its ``context`` and ``schema_version``; its type is its class name.
Old versions stay readable: an upcaster turns a version-n payload into version n+1, and
``upcast_payload`` chains them up to the current schema.
"""

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]

_EVENTS: dict[str, type["Event"]] = {}
_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


class Event(BaseModel):
    """A fact in the past tense. Subclasses are registered by their class name."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    context: ClassVar[str]
    schema_version: ClassVar[int] = 1

    def __init_subclass__(cls, abstract: bool = False, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if abstract:
            return
        if cls.__name__ in _EVENTS and _EVENTS[cls.__name__] is not cls:
            raise TypeError(f"event type {cls.__name__} defined twice")
        _EVENTS[cls.__name__] = cls

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__


def upcaster(event_type: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Register the function that turns ``from_version`` payloads into ``from_version + 1``."""

    def register(function: Upcaster) -> Upcaster:
        _UPCASTERS[(event_type, from_version)] = function
        return function

    return register


def event_model(event_type: str) -> type[Event]:
    try:
        return _EVENTS[event_type]
    except KeyError:
        raise LookupError(f"unknown event type {event_type!r}") from None


def known_event_types(context: str | None = None) -> list[str]:
    return sorted(name for name, cls in _EVENTS.items() if context in (None, cls.context))


def upcaster_versions(event_type: str) -> list[int]:
    """The older schema versions of a type that readers upcast (each has its upcaster)."""
    return sorted(version for (name, version) in _UPCASTERS if name == event_type)


def upcast_payload(event_type: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
    current = event_model(event_type).schema_version
    if version > current:
        raise ValueError(f"{event_type} v{version} is newer than this reader's v{current}")
    while version < current:
        step = _UPCASTERS.get((event_type, version))
        if step is None:
            raise LookupError(f"no upcaster for {event_type} v{version}")
        payload = step(payload)
        version += 1
    return payload


def decode_event(event_type: str, version: int, payload: dict[str, Any]) -> Event:
    return event_model(event_type).model_validate(upcast_payload(event_type, version, payload))
