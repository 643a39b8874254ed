"""The base of every answer model, and the page that every list answers.

An answer model describes what a service (or the gateway) already answers, so that validating
the answer into it and dumping it with ``model_dump(mode="json")`` changes nothing:
- ``extra="allow"``: a field added later passes through;
- times and dates the services emit as ISO strings stay strings (re-serializing a datetime
  would turn "+00:00" into "Z");
- a field that some answers leave out (rather than null) is declared with ``omissible()``: it
  is dumped only when the answer had it.
"""

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, SerializerFunctionWrapHandler, model_serializer

OMISSIBLE = "x-omissible"  # JSON schema mark: the field may be absent from the answer

T = TypeVar("T")


def omissible(description: str, default: Any = None) -> Any:
    """A field that some answers leave out: dumped only when the answer carried it."""
    return Field(default=default, description=description, json_schema_extra={OMISSIBLE: True})


class Answer(BaseModel):
    """What a service or the gateway answers: a shape described, never reshaped."""

    model_config = ConfigDict(extra="allow")

    # No return annotation on purpose: with one, pydantic would take it as the serialization
    # schema (``Any``) and the OpenAPI document would lose every answer's fields.
    @model_serializer(mode="wrap")
    def _leave_out_absent(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        if isinstance(data, dict):
            for name, field in type(self).model_fields.items():
                extra = field.json_schema_extra
                if isinstance(extra, dict) and extra.get(OMISSIBLE) and (
                    name not in self.model_fields_set
                ):
                    data.pop(field.serialization_alias or field.alias or name, None)
        return data


class Page(Answer, Generic[T]):
    """A page of a list: ``next_cursor`` asks for the next one (None: this is the last)."""

    items: list[T] = Field(description="this page's items")
    next_cursor: str | None = Field(description="opaque cursor of the next page; None at the end")
