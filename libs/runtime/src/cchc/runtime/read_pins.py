"""One request, one view of the read models: a version switch never shows inside a request.

An endpoint's handler may open several connections and wait on a runner in between. The
middleware (``cchc.runtime.endpoints``) opens a pin scope per request; the first time the
request touches a read side (``cchc.runtime.projection_upgrade.ReadSide``) the view it finds is
pinned for the rest of the request, however many connections it opens. One exception: a request
that waits for its position (read-your-writes) on a version that a switch replaces, before it
has read anything, moves to the new version and waits there (the old one may never get there:
nothing applies to it any more once its release is gone).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

_pins: ContextVar[dict[int, Any] | None] = ContextVar("cchc_read_pins", default=None)


@contextmanager
def pinned_reads() -> Iterator[None]:
    token = _pins.set({})
    try:
        yield
    finally:
        _pins.reset(token)


def pinned(owner: object, current: Any) -> Any:
    """``current``, or what ``owner`` showed earlier in this request's scope."""
    pins = _pins.get()
    if pins is None:
        return current
    return pins.setdefault(id(owner), current)


def mark_read(owner: object) -> None:
    """The request has read from ``owner``'s pinned view: it keeps that view to the end."""
    pins = _pins.get()
    if pins is not None:
        pins[(id(owner), "read")] = True


def repin(owner: object, current: Any) -> Any:
    """Move the request to ``current`` if it has read nothing through ``owner`` yet (a wait
    for its position that a switch overtook); otherwise keep what it reads."""
    pins = _pins.get()
    if pins is None:
        return current
    if not pins.get((id(owner), "read")):
        pins[id(owner)] = current
    return pins.setdefault(id(owner), current)
