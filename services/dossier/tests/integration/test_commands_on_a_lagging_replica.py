"""Commands that check another aggregate (a procedure's agency, a receipt's procedure) when the
fast read comes from a replica of an R3 stream that has not caught up with the leader.

Seen in CI on the compose cluster: an agency registered, then a procedure published for it a
moment later was refused 422 "unknown agency".
"""

import uuid
from datetime import UTC, datetime

import pytest

from cchc.contracts.dossier_commands import PublishProcedure, ReceiveDossier, RegisterAgency
from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier.handlers import DossierCommandHandlers
from cchc.runtime.streams import ensure_event_stream
from cchc.runtime.testing import LaggingReplica

ADMIN = Principal(sub="admin", role=Role.ADMIN)


def request(body: object) -> Request:
    return Request(meta=CommandMeta(principal=ADMIN, correlation_id=str(uuid.uuid4())), body=body)


@pytest.fixture
async def handlers(nc):  # type: ignore[no-untyped-def]
    await ensure_event_stream(nc.jetstream(), "dossier")
    return DossierCommandHandlers(LaggingReplica(nc))


async def test_a_procedure_of_an_agency_registered_a_moment_ago_is_published(handlers):  # type: ignore[no-untyped-def]
    agency = f"SLAG{uuid.uuid4().hex[:4].upper()}"
    code = f"1.{uuid.uuid4().int % 10**6:06d}.000.00.00.H26"
    registered = await handlers.register_agency(request(RegisterAgency(
        code=agency, name="Sở thử nghiệm", group="department")))
    assert registered.ok
    published = await handlers.publish_procedure(request(PublishProcedure(
        code=code, name="Thủ tục", agency=agency, field="Viễn thông", processing_days=3,
        online_level="full")))
    assert published.ok, published.problem
    received = await handlers.receive_dossier(request(ReceiveDossier(
        procedure=code, channel="online", received_at=datetime(2022, 7, 15, 2, 0, tzinfo=UTC),
        applicant={"name": "Nguyễn Văn An", "phone": "0912345678"})))
    assert received.ok, received.problem


async def test_an_agency_nobody_registered_is_still_unknown(handlers):  # type: ignore[no-untyped-def]
    from cchc.dossier.domain.errors import InvalidCommand

    with pytest.raises(InvalidCommand, match="unknown agency"):
        await handlers.publish_procedure(request(PublishProcedure(
            code="1.999999.000.00.00.H26", name="Thủ tục", agency="SNOBODY", field="Viễn thông",
            processing_days=3, online_level="full")))
