"""Opaque list cursors: the sort key of a page's last row, for keyset pagination."""

import base64
import json
from typing import Any

from cchc.runtime.rpc import ProblemError


def encode_cursor(values: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode()


def decode_cursor(cursor: str, size: int) -> list[Any]:
    """The ``size`` values of a cursor this list made; anything else is a 422 on ``cursor``."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != size:
        raise ProblemError(422, "Invalid input", "not a cursor of this list", "cursor")
    return values
