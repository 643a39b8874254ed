"""The scoring service with its restricted NATS user (deploy/nats/accounts.conf): it starts
before the services whose streams it projects, follows their events, answers the gateway's user,
and cannot write into another context.

A module of its own, so the secured server is fresh: no stream exists when scoring starts.
"""

import asyncio
import uuid

from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier.config import DossierSettings
from cchc.dossier.main import DossierService
from cchc.scoring.config import ScoringSettings
from cchc.scoring.main import ScoringService

ADMIN = Principal(sub="admin", role=Role.ADMIN)


def request(body=None, target=None, min_position=None) -> Request:  # type: ignore[no-untyped-def]
    meta = CommandMeta(principal=ADMIN, correlation_id=str(uuid.uuid4()))
    return Request(meta=meta, body=body or {}, target=target, min_position=min_position)


async def test_scoring_starts_first_and_follows_the_dossier_stream_with_its_restricted_user(
    secured_nats, nats_user_url, connect, gateway_client, tmp_path, deployed_ca,
):
    scoring = ScoringService(ScoringSettings(
        nats_url=nats_user_url(secured_nats, "scoring"), nats_tls_ca=deployed_ca,
        database_url=f"sqlite:///{tmp_path / 'scoring.db'}"))
    await scoring.start()
    dossier = DossierService(DossierSettings(
        nats_url=nats_user_url(secured_nats, "dossier"), nats_tls_ca=deployed_ca,
        database_url=f"sqlite:///{tmp_path / 'dossier.db'}"))
    await dossier.start()
    try:
        client = gateway_client
        agency = f"A{uuid.uuid4().hex[:6].upper()}"
        registered = await client.call("dossier", "register-agency", request(
            {"code": agency, "name": "Sở Thông tin và Truyền thông", "group": "department"}))
        assert registered.ok, registered.problem
        recorded = await client.call("scoring", "record-index-result", request(
            {"index": "PAR", "year": 2021, "agency": agency, "score": 93.8,
             "group": "department", "published_on": "2022-04-20"}))
        assert recorded.ok, recorded.problem

        # The agency's registration reaches scoring's own metric projection of the dossier stream.
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while scoring.dossier_metrics.position < registered.position:
            assert loop.time() < deadline, "scoring did not follow the dossier stream"
            await asyncio.sleep(0.05)
        # Read-your-writes: the result recorded above is in scoring's own read model.
        indexes = await client.call("scoring", "agency-indexes", request(
            {"agency": agency}, min_position=recorded.position))
        assert indexes.ok, indexes.problem
        assert [(i["index"], i["score"], i["rank"]) for i in indexes.result["items"]] == [
            ("PAR", 93.8, 1)]
        assert not scoring.nc._err, scoring.nc._err

        # It reads the dossier stream; it cannot write into it.
        own = await connect("scoring")
        await own.nc.publish(f"cchc.dossier.{agency}.x", b"{}")
        assert await own.violation(f"cchc.dossier.{agency}.x"), own.errors
    finally:
        await dossier.stop()
        await scoring.stop()
