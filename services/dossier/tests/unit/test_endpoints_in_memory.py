"""The dossier service's endpoints in memory (TestNatsBroker): refusals that need no log."""

import uuid

from faststream.nats import TestNatsBroker

from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier.handlers import DossierCommandHandlers
from cchc.dossier.queries import DossierQueries
from cchc.dossier.subscribers import SERVICE, endpoints
from cchc.runtime.endpoints import ServiceClient, service_broker

OFFICER = Principal(sub="officer-a", role=Role.OFFICER, agency="SO-A")


def request(body: dict) -> Request:
    return Request(meta=CommandMeta(principal=OFFICER, correlation_id=str(uuid.uuid4())),
                   body=body)


def dossier_broker():  # type: ignore[no-untyped-def]
    # No event store and no read model: a request refused before them never reaches them.
    handlers = DossierCommandHandlers(store=None)  # type: ignore[arg-type]
    queries = DossierQueries(engine=None, runner=None)  # type: ignore[arg-type]

    async def health(request: Request) -> None:  # pragma: no cover - not asked here
        raise AssertionError

    broker = service_broker("nats://unused:4222", "test")
    broker.include_router(endpoints(handlers, queries, health, max_workers=1).router)
    return broker


async def test_an_officer_publishing_for_another_agency_is_forbidden():
    async with TestNatsBroker(dossier_broker()) as broker:
        reply = await ServiceClient(broker).call(SERVICE, "publish-procedure", request({
            "code": "1.0001", "name": "Cấp phép", "agency": "SO-B", "field": "Xây dựng",
            "processing_days": 5, "online_level": "full"}))
    assert reply.problem.kind == "forbidden" and "SO-B" in reply.problem.detail


async def test_a_receipt_with_bad_fields_is_invalid_naming_them():
    async with TestNatsBroker(dossier_broker()) as broker:
        reply = await ServiceClient(broker).call(SERVICE, "receive-dossier", request({
            "procedure": "1.0001", "channel": "pigeon", "received_at": "yesterday",
            "applicant": {}}))
    assert reply.problem.kind == "invalid"
    assert sorted(e.field for e in reply.problem.errors) == [
        "applicant.name", "channel", "received_at"]


async def test_a_query_with_an_unknown_field_is_invalid():
    async with TestNatsBroker(dossier_broker()) as broker:
        reply = await ServiceClient(broker).call(SERVICE, "get-dossier", request({"x": 1}))
    assert reply.problem.kind == "invalid" and reply.problem.errors[0].field == "x"
