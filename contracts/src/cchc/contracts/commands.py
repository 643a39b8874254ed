"""What every command of every context is: frozen, no field beyond its own, and no control
characters in any text it carries.

Text goes on into the log and from there into PostgreSQL, workbooks, mails and PDFs. A NUL
cannot be stored in PostgreSQL's text (the event was appended, its projection could not write
it: an agency registered with one answered 201 and never appeared in the list), and the other
C0 controls are refused by the workbooks' XML. Tab, line feed and carriage return stay allowed.
"""

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def has_control_character(value: Any) -> bool:
    """In a string, or in any string within (a model's fields and extras, dicts, lists)."""
    if isinstance(value, str):
        return _CONTROL.search(value) is not None
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        return any(has_control_character(k) or has_control_character(v)
                   for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(has_control_character(item) for item in value)
    return False


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any) -> Any:
        if has_control_character(value):
            raise ValueError("control characters (such as NUL) are not allowed in text")
        return value
