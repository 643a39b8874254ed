"""A running ScoringService on the session's nats-server, a caller of its endpoints, and a way to
put dossier and planning events on the log without their services."""

import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from cchc.contracts.dossier import (
    AgencyRegistered,
    DossierReceived,
    DossierResolved,
    DossierSupplemented,
    ProcedurePublished,
    SupplementRequested,
)
from cchc.contracts.events import Event
from cchc.contracts.localtime import LOCAL_TZ
from cchc.contracts.messages import CommandMeta, Principal, Reply, Request, Role
from cchc.contracts.planning import TaskAdded, TaskCancelled, TaskCompleted
from cchc.runtime.eventstore import EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.endpoints import ServiceClient
from cchc.runtime.streams import ensure_event_stream
from cchc.runtime.testing import replayed
from cchc.scoring.config import ScoringSettings
from cchc.scoring.main import ScoringService
from nats.aio.client import Client as NATS

ADMIN = Principal(sub="admin", role=Role.ADMIN)


def fresh_agency() -> str:
    """The nats-server is shared by the whole session: each test scores agencies of its own."""
    return f"S{uuid.uuid4().hex[:10].upper()}"


def officer(agency: str) -> Principal:
    return Principal(sub=f"officer-{agency}", role=Role.OFFICER, agency=agency)


class Caller:
    def __init__(self, client: ServiceClient) -> None:
        self.client = client

    async def __call__(
        self, endpoint: str, body: dict[str, Any] | None = None, *, target: str | None = None,
        principal: Principal = ADMIN, key: str | None = None, min_position: int | None = None,
    ) -> Reply:
        request = Request(
            meta=CommandMeta(principal=principal, correlation_id=str(uuid.uuid4()),
                             idempotency_key=key),
            body=body or {}, target=target, min_position=min_position,
        )
        return await self.client.call("scoring", endpoint, request)

    async def ok(self, endpoint: str, body: dict[str, Any] | None = None, **kwargs: Any) -> Reply:
        reply = await self(endpoint, body, **kwargs)
        assert reply.ok, reply.problem
        return reply


class Log:
    """Dossier and planning facts appended straight to their streams, as their services would."""

    def __init__(self, nc: NATS) -> None:
        self.store = EventStore(nc)
        self.nc = nc

    async def append(self, context: str, aggregate: str, agency: str, event: Event,
                     at: datetime) -> int:
        await ensure_event_stream(self.nc.jetstream(), context)
        history = await self.store.load(context, aggregate)
        appended = await self.store.append(
            history, event, agency=agency, occurred_at=at,
            meta=Metadata(actor="test", correlation_id=str(uuid.uuid4())),
        )
        return appended.position

    async def task(self, agency: str, year: int, status: str = "open") -> int:
        task_id, added = new_id(), datetime(year, 1, 10, 8, tzinfo=LOCAL_TZ)
        due = date(year, 12, 31)
        position = await self.append("planning", task_id, agency, TaskAdded(
            task_id=task_id, plan_id=f"plan-{agency}", agency=agency, year=year, title="Nhiệm vụ",
            area="direction", due_date=due, owner="VP", added_at=added), added)
        done = added + timedelta(days=30)
        if status == "completed":
            position = await self.append("planning", task_id, agency, TaskCompleted(
                completed_at=done, due_date=due, on_time=True, evidence=[]), done)
        if status == "cancelled":
            position = await self.append("planning", task_id, agency, TaskCancelled(
                cancelled_at=done, reason="không còn phù hợp"), done)
        return position

    async def open_task(self, agency: str, year: int) -> tuple[str, int]:
        """A task of the year's plan, added on 10 January, still open: (its id, position)."""
        task_id, added = new_id(), datetime(year, 1, 10, 8, tzinfo=LOCAL_TZ)
        position = await self.append("planning", task_id, agency, TaskAdded(
            task_id=task_id, plan_id=f"plan-{agency}", agency=agency, year=year, title="Nhiệm vụ",
            area="direction", due_date=date(year, 12, 31), owner="VP", added_at=added), added)
        return task_id, position

    async def complete_task(self, agency: str, task_id: str, on: date) -> int:
        done = datetime.combine(on, datetime.min.time(), LOCAL_TZ).replace(hour=10)
        return await self.append("planning", task_id, agency, TaskCompleted(
            completed_at=done, due_date=date(done.year, 12, 31), on_time=False, evidence=[]),
            done)

    async def agency(self, code: str, group: str = "department") -> int:
        at = datetime.now(LOCAL_TZ)
        return await self.append("dossier", f"agency-{code}", code, AgencyRegistered(
            code=code, name=f"Sở {code}", group=group), at)

    async def procedure(self, agency: str, online_level: str = "full",
                        published_on: date | None = None) -> int:
        code, at = new_id(), datetime.now(LOCAL_TZ)
        return await self.append("dossier", code, agency, ProcedurePublished(
            code=code, name="Thủ tục", agency=agency, field="Viễn thông", processing_days=5,
            online_level=online_level, published_at=at, published_on=published_on), at)

    async def dossier(self, agency: str, received: date, channel: str = "online",
                      timeliness: str | None = None, timeliness_766: str | None = None,
                      supplement_requests: int = 0) -> int:
        """A dossier received, sent back ``supplement_requests`` times, and resolved if given a
        timeliness (``timeliness_766`` None: a resolution written before the 766 clock)."""
        dossier_id = new_id()
        at = datetime.combine(received, datetime.min.time(), LOCAL_TZ).replace(hour=9)
        due = at + timedelta(days=7)
        position = await self.append("dossier", dossier_id, agency, DossierReceived(
            dossier_id=dossier_id, agency=agency, procedure="1.000001", channel=channel,
            received_at=at, receipt_day=received, processing_days=5, due_at=due,
            applicant={"name": "Nguyễn Văn An"}), at)
        for n in range(supplement_requests):
            requested = at + timedelta(hours=2 * n + 1)
            supplemented = requested + timedelta(hours=1)
            await self.append("dossier", dossier_id, agency, SupplementRequested(
                requested_at=requested, reason="thiếu giấy tờ"), requested)
            position = await self.append("dossier", dossier_id, agency, DossierSupplemented(
                supplemented_at=supplemented, restart_day=received, due_at=due), supplemented)
        if timeliness is not None:
            resolved = at + timedelta(days={"early": 2, "on_time": 7, "late": 9}[timeliness])
            position = await self.append("dossier", dossier_id, agency, DossierResolved(
                resolved_at=resolved, outcome="approved", due_at=due, timeliness=timeliness,
                timeliness_766=timeliness_766), resolved)
        return position


@pytest.fixture
async def scoring(nats_server: NatsServer, db_url: str) -> AsyncIterator[ScoringService]:
    service = ScoringService(ScoringSettings(nats_url=nats_server.url, database_url=db_url))
    await service.start()
    await replayed(service)
    yield service
    await service.stop()


@pytest.fixture
def agency() -> str:
    return fresh_agency()


@pytest.fixture
async def call(scoring: ScoringService, service_client: ServiceClient) -> Caller:
    return Caller(service_client)


@pytest.fixture
def log(nc: NATS) -> Log:
    return Log(nc)


@pytest.fixture
def framework_body():  # type: ignore[no-untyped-def]
    return plan_framework


def plan_framework(code: str, group: str = "department", year: int = 2022) -> dict[str, Any]:
    """A small PAR framework: one manual, one survey and an auto criterion per metric."""

    def auto(number: str, metric: str, max_points: float, **rule: Any) -> dict[str, Any]:
        return {"code": number, "title": metric, "area": "direction", "max_points": max_points,
                "method": "auto", "metric": metric, **rule}

    return {
        "code": code, "index": "PAR", "year": year, "group": group, "max_score": 20,
        "title": "Chỉ số CCHC sở (thử)",
        "criteria": [
            {"code": "1.1", "title": "Ban hành kế hoạch CCHC", "area": "direction",
             "max_points": 2, "method": "manual"},
            auto("1.2", "plan.completion_rate", 2, bands=[
                {"min_rate": 0, "points": 0}, {"min_rate": 0.7, "points": 1},
                {"min_rate": 0.9, "points": 2}]),
            auto("3.3", "dossier.on_time_rate", 4, bands=[
                {"min_rate": 0.9, "points": 2}, {"min_rate": 1.0, "points": 4}]),
            auto("7.3", "dossier.online_rate", 3, threshold=0.5),
            auto("3.1", "procedures.published", 1, bands=[{"min_rate": 1, "points": 1}]),
            auto("7.2", "procedures.full_online_rate", 4, threshold=0.8),
            {"code": "8.1", "title": "Mức độ hài lòng", "area": "impact", "max_points": 4,
             "method": "survey"},
        ],
    }
