"""A running PlanningService on the session's nats-server, and a caller of its endpoints."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from cchc.contracts.messages import CommandMeta, Principal, Reply, Request, Role
from cchc.planning.config import PlanningSettings
from cchc.planning.main import PlanningService
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.endpoints import ServiceClient
from cchc.runtime.testing import replayed

ADMIN = Principal(sub="admin", role=Role.ADMIN)


def fresh_agency() -> str:
    """The nats-server is shared by the whole session: each test plans for agencies of its own."""
    return f"S{uuid.uuid4().hex[:10].upper()}"


class Caller:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def __call__(
        self, endpoint: str, body: dict[str, Any] | None = None, *, target: str | None = None,
        principal: Principal = ADMIN, key: str | None = None, if_match: int | None = None,
        min_position: int | None = None,
    ) -> Reply:
        request = Request(
            meta=CommandMeta(
                principal=principal, correlation_id=str(uuid.uuid4()), idempotency_key=key,
                expected_version=if_match,
            ),
            body=body or {}, target=target, min_position=min_position,
        )
        return await self.client.call("planning", endpoint, request)

    async def ok(self, endpoint: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Reply:
        reply = await self(endpoint, body, **kwargs)
        assert reply.ok, reply.problem
        return reply

    async def new_plan(self, agency: str, year: int = 2026) -> Reply:
        body = {"agency": agency, "year": year, "title": f"Kế hoạch CCHC năm {year}"}
        return await self.ok("issue-plan", body)

    async def new_task(self, plan_id: str, due_date: str = "2026-12-31", **fields: Any) -> Reply:
        body = {
            "title": "Rà soát, đơn giản hoá thủ tục hành chính", "area": "procedures",
            "due_date": due_date, "owner": "Văn phòng Sở", **fields,
        }
        return await self.ok("add-task", body, target=plan_id)


@pytest.fixture
async def planning(nats_server: NatsServer, db_url: str) -> AsyncIterator[PlanningService]:
    service = PlanningService(PlanningSettings(nats_url=nats_server.url, database_url=db_url))
    await service.start()
    await replayed(service)
    yield service
    await service.stop()


@pytest.fixture
def agency() -> str:
    return fresh_agency()


@pytest.fixture
async def call(planning: PlanningService, service_client: ServiceClient) -> Caller:
    return Caller(service_client)
