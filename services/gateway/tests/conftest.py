"""Gateway tests: the real app on a real nats-server, with a stand-in for the dossier service.

The stand-in records every Request it gets and answers canned Replies, so these tests check the
gateway's translation (HTTP in, Request out, Reply in, HTTP out), not the dossier domain.
"""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import pytest

from cchc.contracts.dossier_commands import COMMAND_ENDPOINTS, QUERY_ENDPOINTS
from cchc.contracts.messages import Reply, Request
from cchc.gateway.agencies import DIRECTORY_PRINCIPAL
from cchc.gateway.app import create_app
from cchc.gateway.auth import issue_token
from cchc.gateway.config import GatewaySettings
from cchc.runtime.testing import serve_stand_in

SECRET = "test-secret-for-the-gateway-0123456789"  # 32+ bytes, as HS256 wants


# The gateway refuses a token whose agency is not registered (it asks the dossier service's
# list-agencies, as DIRECTORY_PRINCIPAL). In these tests the agencies registered are the ones
# ``as_role`` issued officer tokens for: the stand-in (or, in tests without it, the
# ``agency_directory`` fixture) answers the gateway with them. Tests of the check itself issue
# tokens with ``issue_token`` to name agencies nobody registered.
REGISTERED_AGENCIES: set[str] = set()


def registered_agencies_reply() -> Reply:
    items = [{"code": code} for code in sorted(REGISTERED_AGENCIES)]
    return Reply(ok=True, result={"items": items, "next_cursor": None})


@pytest.fixture(autouse=True)
async def agency_directory(request: pytest.FixtureRequest, nats_server) -> AsyncIterator[None]:  # type: ignore[no-untyped-def]
    """In tests without a stand-in, list-agencies answers the gateway's agency check."""
    if "stand_in" in request.fixturenames:
        yield
        return

    async def handle(req: Request) -> Reply:
        return registered_agencies_reply()

    stand_in_broker = await serve_stand_in(nats_server.url, "dossier", {"list-agencies": handle})
    yield
    await stand_in_broker.stop()


@dataclass
class StandIn:
    """The dossier service as the gateway sees it: endpoints that answer what they are told."""

    replies: dict[str, Reply] = field(default_factory=dict)
    received: list[tuple[str, Request]] = field(default_factory=list)

    def answer(self, endpoint: str, reply: Reply) -> None:
        self.replies[endpoint] = reply

    def requests_to(self, endpoint: str) -> list[Request]:
        return [request for name, request in self.received if name == endpoint]

    def handler(self, endpoint: str):  # type: ignore[no-untyped-def]
        async def handle(request: Request) -> Reply:
            if endpoint == "list-agencies" and request.meta.principal == DIRECTORY_PRINCIPAL:
                return registered_agencies_reply()  # the gateway's own agency check
            self.received.append((endpoint, request))
            return self.replies.get(endpoint, Reply(ok=True, result={"endpoint": endpoint}))

        return handle


def stand_in_endpoints(stand_in: StandIn, *, with_health: bool = True) -> dict:
    names = [*COMMAND_ENDPOINTS, *QUERY_ENDPOINTS] + (["health"] if with_health else [])
    return {name: stand_in.handler(name) for name in names}


@pytest.fixture
async def stand_in(nats_server) -> AsyncIterator[StandIn]:
    fake = StandIn()
    stand_in_broker = await serve_stand_in(nats_server.url, "dossier", stand_in_endpoints(fake))
    yield fake
    await stand_in_broker.stop()


@pytest.fixture
def settings(nats_server) -> GatewaySettings:
    return GatewaySettings(
        nats_url=nats_server.url, jwt_secret=SECRET, services=["dossier"], request_timeout=2.0,
        health_timeout=0.5,
    )


@pytest.fixture
async def app(settings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
        yield http


def bearer(role: str, agency: str | None = None, sub: str | None = None,
           secret: str = SECRET, ttl_s: int | None = None) -> dict[str, str]:
    if agency:
        REGISTERED_AGENCIES.add(agency)
    token = issue_token(secret, sub or f"{role}-{agency or 'all'}", role, agency, ttl_s)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def registered_agencies() -> set[str]:
    """The agencies the dossier service lists to the gateway: add one to register it."""
    return REGISTERED_AGENCIES


@pytest.fixture
def secret() -> str:
    return SECRET


@pytest.fixture
def as_role():  # type: ignore[no-untyped-def]
    """``as_role("officer", "SO-TP")`` -> the Authorization header of such a caller."""
    return bearer
