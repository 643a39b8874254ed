"""What validating rows produces: the accepted items and, per refused row, its problems."""

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError


@dataclass(frozen=True)
class Refusal:
    row: int
    field: str  # the file's column, as its header names it
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "reason": self.reason}


@dataclass(frozen=True)
class Step:
    """One command of an imported row, with the key that makes sending it again harmless."""

    endpoint: str
    body: BaseModel
    key: str
    on_previous: bool = False  # its target is the aggregate the row's first step created


@dataclass
class Checked:
    items: list[tuple[int, list[Step]]] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)


def refusals_of(error: ValidationError, row: int, columns: dict[str, str]) -> list[Refusal]:
    """A command model's refusal, each field named by the column it came from."""
    found = []
    for problem in error.errors():
        name = str(problem["loc"][0]) if problem["loc"] else ""
        found.append(Refusal(row, columns.get(name, name), problem["msg"]))
    return found
