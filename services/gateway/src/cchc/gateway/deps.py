"""The gateway's dependencies, declared once and used by every router with ``Annotated``."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from nats.aio.client import Client as NATS

from cchc.contracts.messages import Principal, Role
from cchc.gateway.auth import InvalidToken, principal_from_token
from cchc.gateway.config import GatewaySettings
from cchc.gateway.idempotency import IdempotencyStore
from cchc.gateway.problems import problem
from cchc.runtime.eventstore import EventStore
from cchc.runtime.rpc import ServiceClient

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


@dataclass
class Gateway:
    """What the app holds while it runs (made in the lifespan, never at import)."""

    settings: GatewaySettings
    nc: NATS
    services: ServiceClient
    events: EventStore
    idempotency: IdempotencyStore


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway


def principal(
    request: Request, authorization: Annotated[str | None, Header(include_in_schema=False)] = None
) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise problem(401, "Unauthorized", "a bearer token is required", headers=UNAUTHORIZED)
    try:
        return principal_from_token(gateway(request).settings.jwt_secret, authorization[7:].strip())
    except InvalidToken as error:
        raise problem(401, "Unauthorized", f"invalid token: {error}", headers=UNAUTHORIZED) from None


def writer(caller: Annotated[Principal, Depends(principal)]) -> Principal:
    if caller.role == Role.INSPECTOR:
        raise problem(403, "Forbidden", "inspectors read; they do not write")
    return caller


def provincial_writer(caller: Annotated[Principal, Depends(writer)]) -> Principal:
    if not caller.writes_everywhere:
        raise problem(403, "Forbidden", "only admin and home_affairs may do this")
    return caller


GatewayDep = Annotated[Gateway, Depends(gateway)]
Caller = Annotated[Principal, Depends(principal)]
Writer = Annotated[Principal, Depends(writer)]
ProvincialWriter = Annotated[Principal, Depends(provincial_writer)]


def require_readable(caller: Principal, agency: str | None) -> None:
    if agency is not None and not caller.may_read(agency):
        raise problem(403, "Forbidden", f"cannot read agency {agency}", field="agency")
