"""deploy/nats/accounts.conf, loaded by a real nats-server: who may read and write what.

Each agency's subscriber user reads only its own agency's events; each service publishes only its
own context's events and reaches only its own stream; the gateway calls services and reads but
cannot write an event. The dossier service itself runs with its restricted user, called by the
gateway's user, to show the allow-lists are enough for the real code.
"""

import asyncio
import os
import sys
import uuid
from pathlib import Path

import nats
import pytest
from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier.config import DossierSettings
from cchc.dossier.main import DossierService
from cchc.runtime.streams import ensure_event_stream
from nats.js.api import ConsumerConfig

ADMIN = Principal(sub="admin", role=Role.ADMIN)
PROBE = Path(__file__).resolve().parents[2] / "deploy" / "docker" / "probe.py"


@pytest.fixture
async def dossier_stream(connect) -> None:
    dossier = await connect("dossier")
    await ensure_event_stream(dossier.nc.jetstream(), "dossier")


async def received_within(subscription, timeout: float = 1.0) -> list[str]:
    subjects = []
    try:
        while True:
            subjects.append((await subscription.next_msg(timeout=timeout)).subject)
    except nats.errors.TimeoutError:
        return subjects


def event_subject(agency: str) -> str:
    return f"cchc.dossier.{agency}.{uuid.uuid4().hex[:12]}"


async def test_an_agency_reads_its_own_events_and_is_refused_another_agencys(
    connect, dossier_stream
):
    dossier, stttt = await connect("dossier"), await connect("agency-STTTT")
    own = await stttt.nc.subscribe("cchc.*.STTTT.>")
    other = await stttt.nc.subscribe("cchc.dossier.SNV.>")
    everything = await stttt.nc.subscribe("cchc.>")
    assert await stttt.violation("cchc.dossier.SNV.>"), stttt.errors
    assert await stttt.violation("cchc.>"), stttt.errors

    js = dossier.nc.jetstream()
    mine, theirs = event_subject("STTTT"), event_subject("SNV")
    await js.publish(mine, b"{}", stream="DOSSIER")
    await js.publish(theirs, b"{}", stream="DOSSIER")

    assert await received_within(own) == [mine]
    assert await received_within(other, 0.3) == []
    assert await received_within(everything, 0.3) == []


async def test_an_agency_keeps_a_durable_consumer_of_its_own_subjects_only(
    connect, dossier_stream
):
    snv = await connect("agency-SNV")
    js = snv.nc.jetstream(timeout=2)
    await js.add_consumer("DOSSIER", ConsumerConfig(
        name="agency-SNV", durable_name="agency-SNV", filter_subject="cchc.dossier.SNV.>"))

    with pytest.raises(nats.errors.TimeoutError):  # the request is dropped: no answer comes
        await js.add_consumer("DOSSIER", ConsumerConfig(
            name="agency-SNV", durable_name="agency-SNV", filter_subject="cchc.dossier.STTTT.>"))
    assert await snv.violation(
        "$JS.API.CONSUMER.CREATE.DOSSIER.agency-SNV.cchc.dossier.STTTT.>"), snv.errors
    with pytest.raises(nats.errors.TimeoutError):  # nor read the stream around its consumer
        await js.get_last_msg("DOSSIER", "cchc.dossier.STTTT.>", direct=True)


async def test_a_service_writes_only_its_own_context(connect, dossier_stream):
    dossier = await connect("dossier")
    await dossier.nc.publish("cchc.dossier.STTTT.x", b"{}")
    await dossier.nc.publish("cchc.planning.STTTT.x", b"{}")
    assert await dossier.violation("cchc.planning.STTTT.x"), dossier.errors
    assert not any("cchc.dossier.stttt" in e for e in dossier.errors)

    js = dossier.nc.jetstream(timeout=2)
    with pytest.raises(nats.errors.TimeoutError):  # no deleting history
        await js.delete_stream("DOSSIER")
    assert await dossier.violation("$JS.API.STREAM.DELETE.DOSSIER"), dossier.errors
    await dossier.nc.subscribe("cchc.>")
    assert await dossier.violation("cchc.>"), dossier.errors


async def test_the_gateway_calls_services_and_reads_but_writes_no_event(connect, dossier_stream):
    gateway = await connect("gateway")
    await gateway.nc.publish("svc.dossier.get-dossier", b"{}")
    await gateway.nc.publish("cchc.dossier.STTTT.x", b"{}")
    assert await gateway.violation("cchc.dossier.STTTT.x"), gateway.errors
    assert not any("svc.dossier" in e for e in gateway.errors)
    js = gateway.nc.jetstream(timeout=2)
    assert (await js.stream_info("DOSSIER")).config.name == "DOSSIER"
    with pytest.raises(nats.errors.TimeoutError):
        await js.purge_stream("DOSSIER")


async def test_no_one_gets_in_without_a_password(secured_nats, nats_certs, deploy_tls):
    tls = deploy_tls.tls_context(nats_certs / "ca.crt")  # TLS is fine: only the login is wrong
    with pytest.raises(nats.errors.Error, match="(?i)authorization"):
        await nats.connect(secured_nats.url, allow_reconnect=False, connect_timeout=2, tls=tls)
    with pytest.raises(nats.errors.Error, match="(?i)authorization"):
        await nats.connect(secured_nats.url, user="dossier", password="wrong",
                           allow_reconnect=False, connect_timeout=2, tls=tls)
    # The same TLS settings with the right password get in.
    good = await nats.connect(secured_nats.url, user="dossier",
                              password=deploy_tls.passwords["dossier"], allow_reconnect=False,
                              connect_timeout=2, tls=tls, inbox_prefix="_INBOX_dossier")
    await good.close()


async def test_the_dossier_service_works_with_its_restricted_user(
    secured_nats, nats_user_url, gateway_client, sqlite_url, deployed_ca, monkeypatch,
):
    monkeypatch.setenv("CCHC_INSTANCE", "dossier-replica-a")  # its pod's name, say
    service = DossierService(DossierSettings(
        nats_url=nats_user_url(secured_nats, "dossier"), nats_tls_ca=deployed_ca,
        database_url=sqlite_url))
    await service.start()
    try:
        client = gateway_client

        def request(body=None, target=None, min_position=None) -> Request:
            meta = CommandMeta(principal=ADMIN, correlation_id=str(uuid.uuid4()))
            return Request(meta=meta, body=body or {}, target=target, min_position=min_position)

        agency, code = f"A{uuid.uuid4().hex[:6]}", f"1.{uuid.uuid4().hex[:6]}.H26"
        steps = [
            ("register-agency", {"code": agency, "name": "Sở A", "group": "department"}),
            ("publish-procedure", {"code": code, "name": "TTHC", "agency": agency, "field": "f",
                                   "processing_days": 3, "online_level": "partial"}),
            ("receive-dossier", {"procedure": code, "channel": "direct",
                                 "received_at": "2022-07-11T09:00:00+07:00",
                                 "applicant": {"name": "Trần Thị B"}}),
        ]
        for endpoint, body in steps:
            reply = await client.call("dossier", endpoint, request(body))
            assert reply.ok, (endpoint, reply.problem)
        got = await client.call("dossier", "get-dossier", request(
            target=reply.result["id"], min_position=reply.position))
        assert got.ok and got.result["agency"] == agency, got.problem
        health = await client.call("dossier", "health", request())
        assert health.ok and health.result["projection_position"] >= reply.position
        assert not service.nc._err, service.nc._err

        # The container probe, with the service's own (restricted) user, its own inbox prefix
        # and TLS trusting the CA of its CA setting (no SSL_CERT_FILE), sees it ready:
        # this instance. In another replica's container (another instance name) it does not,
        # though the queue group would answer for any replica.
        for instance, ready in (("dossier-replica-a", 0), ("dossier-replica-b", 1)):
            probe = await asyncio.create_subprocess_exec(
                sys.executable, str(PROBE), "dossier",
                env={**os.environ, "CCHC_INSTANCE": instance,
                     "CCHC_DOSSIER_NATS_URL": nats_user_url(secured_nats, "dossier"),
                     "CCHC_DOSSIER_NATS_TLS_CA": deployed_ca},
            )
            assert await asyncio.wait_for(probe.wait(), 30) == ready, instance
        assert (await client.call("dossier", "health", request())).ok  # the group's, as before
    finally:
        await service.stop()
