"""The endpoints' transport in memory (FastStream's TestNatsBroker): every refusal answers.

No JetStream is involved: these check what the subscribers do with a request and with what a
handler raises. The event store, projections and system tests keep the real nats-server.
"""

import uuid

import nats.errors
import nats.js.errors
import pytest
from faststream.nats import TestNatsBroker
from pydantic import BaseModel, Field

from cchc.contracts.messages import CommandMeta, Principal, Reply, Request, Role
from cchc.runtime import domain_errors
from cchc.runtime.endpoints import ServiceClient, ServiceRouter, service_broker

ADMIN = Principal(sub="admin", role=Role.ADMIN)


class Double(BaseModel):
    x: int = Field(ge=0)
    label: str = Field(min_length=1)


def request(body: dict, target: str | None = None) -> Request:
    return Request(meta=CommandMeta(principal=ADMIN, correlation_id=str(uuid.uuid4())),
                   body=body, target=target)


ERRORS = {
    "bad_request": domain_errors.BadRequest("not a cursor of this list", field="cursor"),
    "invalid": domain_errors.InvalidCommand("before the receipt", field="resolved_at"),
    "not_found": domain_errors.NotFound("no dossier d1"),
    "forbidden": domain_errors.Forbidden("another agency's dossier"),
    "conflict": domain_errors.Conflict("the dossier is withdrawn"),
    "precondition_failed": domain_errors.PreconditionFailed("at version 3, not 2"),
    "unavailable": domain_errors.NotCaughtUp("at 10, not yet at 12"),
}
# What a NATS request raises while a stream's leader moves (a cluster node restarting).
PASSING_FAILURES = {
    "timeout": nats.errors.TimeoutError(),
    "no_responders": nats.errors.NoRespondersError(),
    "no_stream_response": nats.js.errors.NoStreamResponseError(),
    "jetstream_503": nats.js.errors.ServiceUnavailableError(code=503, description="no leader"),
}


def make_broker():  # type: ignore[no-untyped-def]
    async def double(request: Request[Double]) -> Reply[dict]:
        if request.target in ERRORS:
            raise ERRORS[request.target]
        if request.target in PASSING_FAILURES:
            raise PASSING_FAILURES[request.target]
        if request.target == "crash":
            raise RuntimeError("a bug")
        return Reply.accepted({"y": request.body.x * 2, "label": request.body.label}, version=1)

    broker = service_broker("nats://unused:4222", "test")
    broker.include_router(ServiceRouter.of("demo", {"double": double}).router)
    return broker


async def test_a_typed_request_gets_its_typed_answer():
    broker = make_broker()
    async with TestNatsBroker(broker) as connected:
        reply = await ServiceClient(connected).call("demo", "double",
                                                   request({"x": 21, "label": "a"}))
    assert reply.ok and reply.result == {"y": 42, "label": "a"} and reply.version == 1


@pytest.mark.parametrize("kind", sorted(ERRORS))
async def test_each_domain_error_answers_a_problem_of_its_kind(kind):
    broker = make_broker()
    async with TestNatsBroker(broker) as connected:
        reply = await ServiceClient(connected).call("demo", "double",
                                                   request({"x": 1, "label": "a"}, target=kind))
    error = ERRORS[kind]
    assert not reply.ok and reply.problem.kind == kind
    assert reply.problem.title == error.title and reply.problem.detail == error.message
    assert [e.field for e in reply.problem.errors] == ([error.field] if error.field else [])


async def test_a_body_that_does_not_fit_its_model_names_each_field_as_the_client_wrote_it():
    broker = make_broker()
    async with TestNatsBroker(broker) as connected:
        reply = await ServiceClient(connected).call("demo", "double",
                                                   request({"x": -1, "label": ""}))
    assert reply.problem.kind == "invalid"
    assert sorted(e.field for e in reply.problem.errors) == ["label", "x"]


async def test_an_unexpected_error_is_answered_as_internal_and_logged(caplog):
    broker = make_broker()
    async with TestNatsBroker(broker) as connected:
        reply = await ServiceClient(connected).call("demo", "double",
                                                   request({"x": 1, "label": "a"}, "crash"))
    assert reply.problem.kind == "internal" and "a bug" not in reply.problem.detail
    assert any("a bug" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize("failure", sorted(PASSING_FAILURES))
async def test_a_nats_failure_that_passes_is_answered_unavailable_not_internal(failure):
    """A KV compare-and-set or an append during a leader move: 503 and try again, not 500."""
    broker = make_broker()
    async with TestNatsBroker(broker) as connected:
        reply = await ServiceClient(connected).call("demo", "double",
                                                   request({"x": 1, "label": "a"}, failure))
    assert not reply.ok and reply.problem.kind == "unavailable"
    assert reply.problem.title == "Service unavailable"


def test_the_store_and_the_receipt_book_wrap_a_passing_failure_as_unavailable():
    from cchc.runtime.nats_failures import unavailable_on_nats_failure

    for error in PASSING_FAILURES.values():
        with pytest.raises(domain_errors.Unavailable, match="the receipt book did not answer"):
            with unavailable_on_nats_failure("the receipt book"):
                raise error
    with pytest.raises(nats.js.errors.BadRequestError):  # not passing: left to the caller
        with unavailable_on_nats_failure("the event log"):
            raise nats.js.errors.BadRequestError(code=400, err_code=10071)


async def test_a_handler_runs_under_its_requests_correlation_id():
    from cchc.runtime.observability import current_correlation_id

    async def whose(request: Request[Double]) -> Reply[dict]:
        return Reply.accepted({"correlation_id": current_correlation_id()})

    broker = service_broker("nats://unused:4222", "test")
    broker.include_router(ServiceRouter.of("demo", {"whose": whose}).router)
    sent = request({"x": 1, "label": "a"})
    async with TestNatsBroker(broker) as connected:
        reply = await ServiceClient(connected).call("demo", "whose", sent)
    assert reply.result == {"correlation_id": sent.meta.correlation_id}
    assert current_correlation_id() is None  # only inside the handler
