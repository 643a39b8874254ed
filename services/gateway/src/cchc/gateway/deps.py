"""The gateway's dependencies, declared once and used by every router through ``Annotated``.

Header rules live here: the bearer token (401), the role checks (403), and the command and query
headers (Idempotency-Key, If-Match, X-Min-Position), whose malformed values are 400 problems.
"""

import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from nats.aio.client import Client as NATS

from cchc.contracts.messages import Principal, Role
from cchc.contracts.subjects import CONTEXTS
from cchc.gateway.auth import InvalidToken
from cchc.gateway.authenticator import Authenticator, CannotAuthenticate
from cchc.gateway.config import GatewaySettings
from cchc.gateway.idempotency import IdempotencyStore
from cchc.gateway.problems import problem
from cchc.runtime.eventstore import EventStore
from cchc.gateway.public_rate import PublicRateLimit
from cchc.runtime.observability import accepted_correlation_id, current_correlation_id
from cchc.runtime.endpoints import ServiceClient

UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
# RFC 6750: a token that was sent but is unusable is named as such; a missing one is not.
INVALID_TOKEN = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
MAX_KEY_LENGTH = 255
_ETAG = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')

bearer = HTTPBearer(auto_error=False, description=(
    "a JWT with the claims sub, role, agency, exp (HS256 of the installation, or RS256/ES256 of "
    "the configured OIDC issuer)"))


@dataclass
class Gateway:
    """What the app holds while it runs (made in the lifespan, never at import)."""

    settings: GatewaySettings
    nc: NATS
    services: ServiceClient
    health_probe: ServiceClient
    events: EventStore
    idempotency: IdempotencyStore
    # Token checks: signature (HS256 or the OIDC issuer's keys), expiry, revocation, agency.
    authenticator: Authenticator
    public_rate: PublicRateLimit  # the public lookup's requests per client address


# Dependencies are ``async def`` though none of them waits: FastAPI runs a plain ``def``
# dependency in a worker thread, a thread hop per dependency per request (measured: ~5% of the
# gateway's event loop at 16 clients, and the GIL handed back and forth).


async def gateway(request: Request) -> Gateway:
    return request.app.state.gateway


GatewayDep = Annotated[Gateway, Depends(gateway)]


async def principal(
    gw: GatewayDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    if credentials is None:
        raise problem(401, "a bearer token is required", headers=UNAUTHORIZED)
    try:
        return await gw.authenticator.principal(credentials.credentials)
    except InvalidToken as error:
        raise problem(401, f"invalid token: {error}", headers=INVALID_TOKEN) from None
    except CannotAuthenticate as error:
        raise problem(503, f"the token cannot be checked now: {error}; try again",
                      headers={"Retry-After": "2"}) from None


Caller = Annotated[Principal, Depends(principal)]


async def writer(caller: Caller) -> Principal:
    if caller.role == Role.INSPECTOR:
        raise problem(403, "an inspector reads everything and writes nothing")
    return caller


async def provincial_writer(caller: Annotated[Principal, Depends(writer)]) -> Principal:
    if not caller.writes_everywhere:
        raise problem(403, "only admin and home_affairs may do this")
    return caller


Writer = Annotated[Principal, Depends(writer)]
ProvincialWriter = Annotated[Principal, Depends(provincial_writer)]


def require_readable(caller: Principal, agency: str | None) -> None:
    """A named agency must be readable; without one the service scopes to the caller."""
    if agency is not None and not caller.may_read(agency):
        raise problem(403, f"agency {agency} is not yours to read", field="agency")


def require_writable(caller: Principal, agency: str) -> None:
    if not caller.may_write(agency):
        raise problem(403, f"agency {agency} is not yours to write", field="agency")


def _correlation_id(value: str | None) -> str:
    # The telemetry middleware chose the request's id (the caller's, or a new one): the same id
    # goes to the log lines, the service and the stored event.
    return current_correlation_id() or accepted_correlation_id(value)


def parse_if_match(value: str | None) -> int | None:
    if value is None or value.strip() == "*":
        return None  # "*" only asks that the aggregate exist, which the command checks anyway
    match = _ETAG.match(value)
    if not match:
        raise problem(400, 'If-Match must be a version in quotes, like "3"', field="If-Match")
    return int(match.group(1))


def _position(value: str) -> int:
    value = value.strip()
    if not (value.isascii() and value.isdigit()):  # not "²", which int() refuses
        raise problem(400, "X-Min-Position must be a log position (0 or more), or positions "
                      "by context: dossier=120, planning=45", field="X-Min-Position")
    return int(value)


def parse_min_position(value: str | None) -> int | None:
    return None if value is None else _position(value)


def parse_min_positions(value: str | None) -> tuple[int | None, dict[str, int]]:
    """``X-Min-Position``: one position (``120``), or one per context
    (``dossier=120, planning=45``) for a read that spans contexts (the agency report)."""
    if value is None or "=" not in value:
        return parse_min_position(value), {}
    positions: dict[str, int] = {}
    for part in value.split(","):
        context, _, position = part.partition("=")
        context = context.strip()
        if context not in CONTEXTS or context in positions:
            raise problem(400, f"X-Min-Position names {context!r}; the contexts are "
                          f"{', '.join(CONTEXTS)}, each once", field="X-Min-Position")
        positions[context] = _position(position)
    return None, positions


def parse_idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not 0 < len(value) <= MAX_KEY_LENGTH or not value.isprintable():
        raise problem(400, f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters",
                      field="Idempotency-Key")
    return value


@dataclass(frozen=True)
class CommandCall:
    """Who sends a command and what its headers ask for."""

    caller: Principal
    method: str
    path: str
    correlation_id: str
    idempotency_key: str | None
    expected_version: int | None


async def command_call(
    request: Request,
    caller: Writer,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", description="the same key and body answer the first answer again"
    )] = None,
    if_match: Annotated[str | None, Header(
        alias="If-Match", description='the aggregate version the command expects, e.g. "3"'
    )] = None,
    correlation_id: Annotated[str | None, Header(alias="X-Correlation-Id")] = None,
) -> CommandCall:
    return CommandCall(
        caller=caller, method=request.method, path=request.url.path,
        correlation_id=_correlation_id(correlation_id),
        idempotency_key=parse_idempotency_key(idempotency_key),
        expected_version=parse_if_match(if_match),
    )


@dataclass(frozen=True)
class QueryCall:
    caller: Principal
    correlation_id: str
    min_position: int | None
    min_positions: dict[str, int] = field(default_factory=dict)  # by context, when so given

    def position_in(self, context: str) -> int | None:
        """What to wait for in ``context``'s log: its own position if the header names it by
        context, else the one plain position."""
        return self.min_positions.get(context) if self.min_positions else self.min_position


async def query_call(
    caller: Caller,
    min_position: Annotated[str | None, Header(
        alias="X-Min-Position", description="wait until the read model has applied this position"
    )] = None,
    correlation_id: Annotated[str | None, Header(alias="X-Correlation-Id")] = None,
) -> QueryCall:
    plain, by_context = parse_min_positions(min_position)
    return QueryCall(caller=caller, correlation_id=_correlation_id(correlation_id),
                     min_position=plain, min_positions=by_context)


CommandCallDep = Annotated[CommandCall, Depends(command_call)]
QueryCallDep = Annotated[QueryCall, Depends(query_call)]
