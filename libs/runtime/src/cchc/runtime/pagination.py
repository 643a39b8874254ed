"""Opaque list cursors: the sort key of a page's last row, for keyset pagination.

A cursor comes back from the client, so it is input like any other: whatever is not a cursor this
list made (not base64, not JSON, the wrong number or types of values, a date that is no date) is a
400 naming ``cursor`` (a ``DomainError``), never an error further down. ``decode_typed`` gives the
values already as the types the query compares them with, checked so that binding them to SQL
cannot fail either (aware datetimes, 64-bit integers, strings without NUL or lone surrogates).
"""

import base64
import binascii
import json
from datetime import UTC, date, datetime
from typing import Any

from cchc.runtime.domain_errors import DomainError

# Far longer than any cursor a list makes (a few short sort-key values).
MAX_CURSOR_LENGTH = 2048
MAX_TEXT_LENGTH = 512
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


class InvalidCursor(DomainError):
    """Status 400, field ``cursor``: not a cursor of this list."""

    def __init__(self, reason: str = "not a cursor of this list") -> None:
        super().__init__(reason, field="cursor")


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The ``size`` JSON values of a cursor this list made; anything else is a 400 on ``cursor``."""
    if not isinstance(cursor, str) or not cursor or len(cursor) > MAX_CURSOR_LENGTH:
        raise InvalidCursor()
    try:
        raw = base64.b64decode(cursor + "=" * (-len(cursor) % 4), altchars=b"-_", validate=True)
        values = json.loads(raw)
    except (ValueError, UnicodeError, binascii.Error, RecursionError):
        raise InvalidCursor() from None
    if not isinstance(values, list) or len(values) != size:
        raise InvalidCursor()
    return values


def decode_typed(cursor: str, *kinds: type) -> tuple[Any, ...]:
    """The values of a cursor as ``kinds`` (``str``, ``int``, ``date``, ``datetime``), in order.

    ``datetime`` values must carry an offset and come back in UTC; ``date`` values are ISO dates.
    """
    values = decode_cursor(cursor, len(kinds))
    return tuple(_as(kind, value) for kind, value in zip(kinds, values, strict=True))


def _as(kind: type, value: Any) -> Any:
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise InvalidCursor()
        if not _INT_MIN <= value <= _INT_MAX:
            raise InvalidCursor()
        return value
    if not isinstance(value, str):
        raise InvalidCursor()
    if kind is str:
        if len(value) > MAX_TEXT_LENGTH or "\x00" in value:
            raise InvalidCursor()
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, which no database will take
            raise InvalidCursor() from None
        return value
    try:
        # datetime before date: a datetime is a date too.
        if kind is datetime:
            parsed = datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise InvalidCursor()
            return parsed.astimezone(UTC)
        if kind is date:
            return date.fromisoformat(value)
    except (ValueError, OverflowError):
        raise InvalidCursor() from None
    raise TypeError(f"no cursor values of type {kind.__name__}")
