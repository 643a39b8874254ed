"""The service image's ``rebuild`` command (``python -m cchc.dossier.main rebuild``,
cchc.runtime.rebuild): how a deployment rebuilds a read model, with the service's own settings,
on PostgreSQL as deployed. It refuses while a replica runs, changing nothing, and once the
replicas are stopped it replays the log into tables that answer as before."""

import asyncio
import os
import sys
import uuid

from sqlalchemy import delete, func, select

from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier import tables
from cchc.dossier.config import DossierSettings
from cchc.dossier.main import DossierService
from cchc.runtime.eventstore import EventStore
from cchc.runtime.sqldb import create_engine
from cchc.runtime.testing import replayed

ADMIN = Principal(sub="admin", role=Role.ADMIN)


def request(body=None, target=None, min_position=None):  # type: ignore[no-untyped-def]
    return Request(meta=CommandMeta(principal=ADMIN, correlation_id=str(uuid.uuid4())),
                   body=body or {}, target=target, min_position=min_position)


async def rebuild_command(nats_url: str, database_url: str) -> tuple[int, str, str]:
    environment = {**os.environ, "CCHC_DOSSIER_NATS_URL": nats_url,
                   "CCHC_DOSSIER_DATABASE_URL": database_url}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cchc.dossier.main", "rebuild", env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 180)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def dossier_rows(database_url: str) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return (await conn.execute(select(func.count()).select_from(tables.dossiers))
                    ).scalar_one()
    finally:
        await engine.dispose()


async def test_the_rebuild_command_refuses_while_a_replica_runs_then_rebuilds(
        nats_server, nc, postgres_url, service_client):
    settings = DossierSettings(nats_url=nats_server.url, database_url=postgres_url)
    service = DossierService(settings)
    await service.start()
    await replayed(service)
    agency, code = f"A{uuid.uuid4().hex[:6]}", f"1.{uuid.uuid4().hex[:6]}.H26"
    for endpoint, body in (
            ("register-agency", {"code": agency, "name": "Sở A", "group": "department"}),
            ("publish-procedure", {"code": code, "name": "TTHC", "agency": agency, "field": "f",
                                   "processing_days": 3, "online_level": "partial"})):
        assert (await service_client.call("dossier", endpoint, request(body))).ok
    received = await service_client.call("dossier", "receive-dossier", request({
        "procedure": code, "channel": "direct", "received_at": "2022-07-11T09:00:00+07:00",
        "applicant": {"name": "Trần Thị B"}}))
    assert received.ok, received.problem
    dossier_id = received.result["id"]
    before = (await service_client.call("dossier", "get-dossier", request(
        target=dossier_id, min_position=received.position))).result
    rows = await dossier_rows(postgres_url)
    try:
        code_, _, err = await rebuild_command(nats_server.url, postgres_url)
        assert code_ == 1 and "stop every replica first" in err, err
        assert await dossier_rows(postgres_url) == rows  # nothing dropped
        assert (await service_client.call("dossier", "get-dossier", request(
            target=dossier_id))).result == before
    finally:
        await service.stop()

    engine = create_engine(postgres_url)  # the read model damaged while the service is down
    async with engine.begin() as conn:
        await conn.execute(delete(tables.dossiers).where(tables.dossiers.c.id == dossier_id))
    await engine.dispose()
    head = await EventStore(nc).last_position("dossier")
    code_, out, err = await rebuild_command(nats_server.url, postgres_url)
    assert code_ == 0, err
    assert "dossier-read-v4: replayed to position" in out
    replayed_to = int(out.split("dossier-read-v4: replayed to position ")[1].split()[0])
    assert replayed_to >= head
    assert await dossier_rows(postgres_url) == rows

    service = DossierService(settings)  # started again: it answers from the rebuilt tables
    await service.start()
    try:
        assert (await service_client.call("dossier", "get-dossier", request(
            target=dossier_id))).result == before
    finally:
        await service.stop()


async def test_the_service_process_names_an_unknown_argument():
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cchc.dossier.main", "rebiuld",
        env={**os.environ, "CCHC_DOSSIER_DATABASE_URL": "sqlite://"},
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 1 and "usage: dossier [rebuild]" in err.decode(), err
