"""The dossier service upgraded to a new read model version while it answers.

On PostgreSQL, a rolling update: a replica of the new release (``dossier-read-v5``) starts beside
one of the old (``-v4``), both answering the queue group; the old one leaves once the new version
serves. On SQLite, the embedded default, the single process is restarted with the new release.
Either way, queries and writes keep coming through the service's endpoints, and every one is
answered: no problem reply (what the gateway turns into a 5xx), no statistics below what was
received before the question, each dossier readable at the position its receipt returned.
"""

import asyncio
import time
import uuid

from sqlalchemy import inspect

from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier.config import DossierSettings
from cchc.dossier.main import DossierService
from cchc.dossier.projections import DossierReadModel
from cchc.runtime.projection import ProjectionRunner

ADMIN = Principal(sub="admin", role=Role.ADMIN)
RETIRE_AFTER_S = 1.0


def request(body=None, target=None, min_position=None):
    meta = CommandMeta(principal=ADMIN, correlation_id=str(uuid.uuid4()))
    return Request(meta=meta, body=body or {}, target=target, min_position=min_position)


class ReadModelV5(DossierReadModel):
    """The next version: the same rows; its first batches slow, to be caught replaying
    (however long the log the other tests left)."""

    name = "dossier-read-v5"
    slow_batches = 10

    async def apply_batch(self, conn, envelopes) -> None:
        if self.slow_batches > 0:
            self.slow_batches -= 1
            await asyncio.sleep(0.15)
        await super().apply_batch(conn, envelopes)


class UpgradedDossierService(DossierService):
    def projection_runners(self, nc, engine):
        runners = super().projection_runners(nc, engine)
        runners[0] = ProjectionRunner(nc, engine, ReadModelV5(), batch_size=10)
        return runners


async def test_the_read_model_is_upgraded_while_every_request_is_answered(
    nats_server, db_url, service_client
):
    client, rolling = service_client, db_url.startswith("postgresql")
    settings = DossierSettings(nats_url=nats_server.url, database_url=db_url,
                               projection_retire_after_s=RETIRE_AFTER_S)
    old = DossierService(settings)
    replicas = [old]
    await old.start()
    try:
        await _upgrade_under_load(client, rolling, settings, replicas)
    finally:  # a failure must not leave replicas answering the session's other tests
        for replica in replicas:
            if replica.ready:
                await replica.stop()


async def _steady(service: DossierService) -> None:
    """Until every projection of ``service`` has applied the head of the shared log (the other
    tests' events too): the upgrade starts from a service in its steady state."""
    deadline = time.monotonic() + 120
    while not all([await runner.caught_up_with_head() for runner in service.runners]):
        assert time.monotonic() < deadline, "the service never caught up with the log"
        await asyncio.sleep(0.1)


async def _upgrade_under_load(client, rolling, settings, replicas) -> None:
    old = replicas[0]
    await _steady(old)
    agency, code = f"A{uuid.uuid4().hex[:6]}", f"1.{uuid.uuid4().hex[:6]}.H26"
    assert (await client.call("dossier", "register-agency", request(
        {"code": agency, "name": "Sở A", "group": "department"}))).ok
    assert (await client.call("dossier", "publish-procedure", request({
        "code": code, "name": "TTHC", "agency": agency, "field": "f", "processing_days": 3,
        "online_level": "partial"}))).ok
    received: list[int] = []  # positions of this test's receipts, in order

    async def receive() -> int:
        reply = await client.call("dossier", "receive-dossier", request({
            "procedure": code, "channel": "direct", "received_at": "2022-07-11T09:00:00+07:00",
            "applicant": {"name": "Trần Thị B"}}))
        assert reply.ok, reply.problem
        received.append(reply.position)
        dossier = await client.call("dossier", "get-dossier", request(
            target=reply.result["id"], min_position=reply.position))
        assert dossier.ok and dossier.result["agency"] == agency, dossier.problem
        return reply.position

    for _ in range(30):
        await receive()
    if not rolling:
        await old.stop()  # the embedded default: one process, restarted with the new release
    new = UpgradedDossierService(settings)
    replicas.append(new)
    await new.start()
    upgrade = new.versions[0]
    health = (await new.health(request())).result.model_dump()
    assert not upgrade.switched, "the replay ended before it could be watched"
    assert health["projection_versions"]["dossier-read"]["serving"] == "dossier-read-v4"
    assert health["projection_versions"]["dossier-read"]["building"]["name"] == "dossier-read-v5"

    errors: list[str] = []
    answers = {False: 0, True: 0}
    done = asyncio.Event()

    async def ask_stats() -> None:
        while not done.is_set():
            known, position = len(received), received[-1]
            switched = upgrade.switched
            reply = await client.call("dossier", "dossier-stats", request(
                {"agency": agency, "from": "2022-07-01", "to": "2022-07-31"},
                min_position=position))
            if not reply.ok:
                errors.append(f"stats: {reply.problem}")
            elif reply.result["received"]["total"] < known:
                errors.append(f"stats: {reply.result['received']['total']} < {known}")
            answers[switched] += 1
            await asyncio.sleep(0.01)

    async def keep_receiving() -> None:
        while not done.is_set():
            try:
                await receive()
            except AssertionError as error:
                errors.append(f"receive: {error}")
            await asyncio.sleep(0.05)

    load = [asyncio.create_task(ask_stats()) for _ in range(3)]
    load.append(asyncio.create_task(keep_receiving()))
    deadline = time.monotonic() + 120
    while not upgrade.switched and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert upgrade.switched
    if rolling:
        await asyncio.sleep(0.3)
        await old.stop()  # the rollout ends, well within the grace period
    await asyncio.sleep(RETIRE_AFTER_S + 3)
    done.set()
    await asyncio.gather(*load)

    assert errors == [], errors[:5]
    assert answers[False] > 0 and answers[True] > 0, answers
    health = (await new.health(request())).result.model_dump()
    assert health["projection_versions"]["dossier-read"] == {
        "serving": "dossier-read-v5", "position": upgrade.current.position, "building": None}
    # Version 4's tables (the default namespace) are gone; version 5's live in their own.
    async with new.engine.connect() as conn:
        left = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
    assert "dossiers" not in left and "alert_open_dossiers" in left  # the alerts stay (v1)
    await new.stop()
