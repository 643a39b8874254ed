"""The trust model of deploy/nats/accounts.conf on a real nats-server (TLS, the deploy users):
only the gateway may send requests to `svc.>`; a service answers only the requests it received;
every user reads only its own inbox prefix; an agency reads only its own agency's subjects.
Each refusal is shown twice: the server's permissions violation, and no data arriving."""

import asyncio

import nats
import pytest

# A service endpoint that returns personal data: what a forger would ask for.
LIST_DOSSIERS = "svc.dossier.list-dossiers"


async def received_within(subscription, timeout: float = 0.5) -> list[bytes]:
    data = []
    try:
        while True:
            data.append((await subscription.next_msg(timeout=timeout)).data)
    except nats.errors.TimeoutError:
        return data


@pytest.fixture
async def dossier_responder(connect):
    """The dossier service's user answering svc.dossier.> in its queue group, as the service does."""
    dossier = await connect("dossier")
    requests: list[bytes] = []

    async def answer(msg) -> None:
        requests.append(msg.data)
        await msg.respond(b'{"ok": true, "result": {"items": [{"applicant": "Tran Thi B"}]}}')

    await dossier.nc.subscribe("svc.dossier.>", queue="dossier", cb=answer)
    await dossier.nc.flush()
    return dossier, requests


async def test_only_the_gateway_may_send_requests_to_services(connect, dossier_responder):
    _, requests = dossier_responder
    gateway = await connect("gateway")
    reply = await gateway.nc.request(LIST_DOSSIERS, b'{"forged": false}', timeout=2)
    assert b"Tran Thi B" in reply.data and requests == [b'{"forged": false}']

    for user in ("dossier", "planning", "scoring", "agency-SNV", "agency-STTTT"):
        forger = await connect(user)
        await forger.nc.publish(LIST_DOSSIERS, b'{"principal": {"role": "admin"}}',
                                reply=forger.nc.new_inbox())
        assert await forger.violation(LIST_DOSSIERS), (user, forger.errors)
    await asyncio.sleep(0.3)
    assert requests == [b'{"forged": false}'], "a forged request reached the service"


async def test_a_service_answers_only_the_requests_it_received(connect, dossier_responder):
    gateway, planning = await connect("gateway"), await connect("planning")
    # Someone else's inbox, published to directly: refused (allow_responses covers only replies).
    target = "_INBOX_gateway.forged.1"
    listener = await gateway.nc.subscribe("_INBOX_gateway.forged.>")
    await planning.nc.publish(target, b"a forged answer")
    assert await planning.violation(target), planning.errors
    assert await received_within(listener) == []
    # A service may not serve another service's subjects either.
    await planning.nc.subscribe("svc.dossier.>")
    assert await planning.violation("svc.dossier.>"), planning.errors


@pytest.mark.parametrize("user", ["agency-SNV", "dossier", "scoring"])
async def test_nobody_reads_the_replies_meant_for_someone_else(connect, dossier_responder, user):
    snoop = await connect(user)
    others = ["_INBOX.>", "_INBOX_gateway.>", "_INBOX_agency_STTTT.>", ">"]
    if user != "dossier":
        others.append("_INBOX_dossier.>")
    subscriptions = [await snoop.nc.subscribe(subject) for subject in others]
    for subject in others:
        assert await snoop.violation(subject), (user, subject, snoop.errors)

    # The gateway's request is answered (the reply goes to _INBOX_gateway...) while they listen.
    gateway = await connect("gateway")
    reply = await gateway.nc.request(LIST_DOSSIERS, b"{}", timeout=2)
    assert b"Tran Thi B" in reply.data
    # And nats-py's default prefix, the one every agency shared before: the request subscription
    # itself is refused, so a client on _INBOX gets no answer at all.
    default = await connect("gateway", prefix="_INBOX")
    with pytest.raises(nats.errors.TimeoutError):
        await default.nc.request(LIST_DOSSIERS, b"{}", timeout=1)
    for subscription in subscriptions:
        assert await received_within(subscription, 0.2) == [], (user, subscription.subject)


async def test_an_agency_is_refused_another_agencys_subjects_under_any_wildcard(connect):
    ops, snv = await connect("ops"), await connect("agency-SNV")
    own = await snv.nc.subscribe("cchc.*.SNV.>")
    theirs = ["cchc.*.STTTT.>", "cchc.dossier.STTTT.>", "cchc.*.*.>", "cchc.dossier.>"]
    subscriptions = [await snv.nc.subscribe(subject) for subject in theirs]
    for subject in theirs:
        assert await snv.violation(subject), (subject, snv.errors)
    await ops.nc.publish("cchc.dossier.STTTT.d1", b"theirs")
    await ops.nc.publish("cchc.dossier.SNV.d2", b"mine")
    assert await received_within(own) == [b"mine"]
    for subscription in subscriptions:
        assert await received_within(subscription, 0.2) == [], subscription.subject
