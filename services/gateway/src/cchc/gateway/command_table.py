"""The commands of a context as one table: path, command model, service endpoint, who may.

Each row becomes a POST route that forwards its typed body to ``svc.<service>.<endpoint>``
(``forwarding.send_command``: idempotency, If-Match, the reply's ETag and position) and declares
the answer model the contracts give for that endpoint. Adding a command to the API is adding a
row; nothing about it is restated elsewhere in the gateway.
"""

import inspect
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel

from cchc.contracts.answers import ANSWERS
from cchc.contracts.subjects import TOKEN_PATTERN
from cchc.gateway.deps import CommandCallDep, GatewayDep, provincial_writer, require_writable
from cchc.gateway.forwarding import send_command
from cchc.gateway.problems import COMMAND_PROBLEM_RESPONSES

_PATH_PARAMETER = re.compile(r"\{([a-z_]+)\}")


class Who(Enum):
    """Who may send a command, as far as the gateway can tell (the service checks the rest:
    the agency of an existing aggregate is known only to it)."""

    WRITER = "any role that writes (not an inspector)"
    PROVINCIAL = "admin and home_affairs"
    AGENCY_IN_BODY = "a writer of the agency the body names"


@dataclass(frozen=True)
class CommandRoute:
    path: str  # below /api/v1; at most one {parameter}: the aggregate the command acts on
    body: type[BaseModel]
    endpoint: str  # svc.<service>.<endpoint>
    operation_id: str
    who: Who = Who.WRITER
    status: int = 200
    created_under: str | None = None  # the collection a 201's Location points into
    body_optional: bool = False  # an absent body is the model's defaults
    description: str | None = None


def add_command_routes(router: APIRouter, service: str, table: Sequence[CommandRoute]) -> None:
    for row in table:
        _add(router, service, row)


def _add(router: APIRouter, service: str, row: CommandRoute) -> None:
    names = _PATH_PARAMETER.findall(row.path)
    if len(names) > 1:
        raise ValueError(f"{row.path}: a command acts on one aggregate")
    target_name = names[0] if names else None

    async def forward(gw: GatewayDep, call: CommandCallDep, **values: Any):  # type: ignore[no-untyped-def]
        body = values.get("body") or row.body()
        if row.who is Who.AGENCY_IN_BODY:
            require_writable(call.caller, body.agency)  # type: ignore[attr-defined]
        return await send_command(
            gw, call, service, row.endpoint, body,
            target=values.get(target_name) if target_name else None,
            success_status=row.status, location=row.created_under,
        )

    parameters = [
        inspect.Parameter("gw", inspect.Parameter.KEYWORD_ONLY, annotation=GatewayDep),
        inspect.Parameter("call", inspect.Parameter.KEYWORD_ONLY, annotation=CommandCallDep),
        inspect.Parameter(
            "body", inspect.Parameter.KEYWORD_ONLY,
            annotation=row.body | None if row.body_optional else row.body,
            default=None if row.body_optional else inspect.Parameter.empty,
        ),
    ]
    if target_name:
        what = target_name.removesuffix("_id").replace("_", " ")
        parameters.insert(0, inspect.Parameter(
            target_name, inspect.Parameter.KEYWORD_ONLY,
            annotation=Annotated[str, Path(pattern=TOKEN_PATTERN, description=f"the {what}'s id")],
        ))
    forward.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    forward.__name__ = row.operation_id
    forward.__doc__ = row.description
    dependencies = [Depends(provincial_writer)] if row.who is Who.PROVINCIAL else []
    router.add_api_route(
        row.path, forward, methods=["POST"], status_code=row.status,
        operation_id=row.operation_id, response_model=ANSWERS[(service, row.endpoint)],
        dependencies=dependencies, responses=COMMAND_PROBLEM_RESPONSES,
    )
