"""The production-like profile (compose.yaml + compose.cluster.yaml): 3 NATS nodes with R3
streams, PostgreSQL, 2 replicas of every service, the gateway; driven through the REST API."""

import asyncio
import json
import os
import time
import warnings
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import nats.errors
import nats.js.errors
import pytest
from api_steps import agency_with_procedure, receive
from cluster_faults import (
    NODE_SERVICES,
    containers_of,
    disconnect,
    docker,
    kill,
    lease_holder,
    reconnect,
    start,
    stream_leader,
)
from compose_deployment import (
    FIGURES,
    TIMINGS,
    Deployment,
    connect_as_ops,
    new_project,
    prepare,
    wait_healthy,
)
from dossier_load import Tally, dossiers_found, late_entries, load_until, receive_dossiers
from test_real_case_report import test_the_department_report_of_15_july_2022 as report_case

pytestmark = pytest.mark.containers
FILES = ["compose.yaml", "compose.cluster.yaml"]
NODE_NAMES = ("nats-1", "nats-2", "nats-3")


@pytest.fixture(scope="module")
def cluster(built_images, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("cluster") / "deploy"
    env = prepare(folder, new_project("cluster"), sans=NODE_NAMES)
    deployment = Deployment(folder, FILES, env)
    try:
        TIMINGS.append(("cluster: compose up --wait, gateway healthy", deployment.up()))
        yield deployment
    finally:
        deployment.down()


@pytest.fixture(scope="module")
async def api(cluster: Deployment):  # type: ignore[no-untyped-def]
    client = cluster.api()
    yield client
    await client.close()


def test_two_replicas_of_every_service_and_three_nats_nodes_are_healthy(cluster: Deployment):
    listed = cluster.docker_compose("ps", "--format", "json").stdout
    containers = [json.loads(line) for line in listed.splitlines() if line.strip()]
    running = Counter(c["Service"] for c in containers if c["Health"] == "healthy")
    assert running == {"nats": 1, "nats-2": 1, "nats-3": 1, "postgres": 1, "dossier": 2,
                       "planning": 2, "scoring": 2, "gateway": 1, "anchor": 1,
                       "backup": 1}, containers


async def stream_once_made(js, stream: str, seconds: float = 60):  # type: ignore[no-untyped-def]
    """The stream's info once its process has made it (the backup job's bucket comes with its
    first backup, after the deployment is up)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return await js.stream_info(stream)
        except nats.js.errors.NotFoundError:
            assert time.monotonic() < deadline, f"{stream} was never made"
            await asyncio.sleep(0.5)


async def test_the_event_streams_have_three_replicas_in_sync(cluster: Deployment, api):  # type: ignore[no-untyped-def]
    agency, procedure = await agency_with_procedure(api.admin)  # something in DOSSIER
    received = await receive(api.as_("officer", agency), procedure,
                             datetime.now(UTC).isoformat(),
                             **{"Idempotency-Key": f"r3-{agency}"})  # a number, a record
    assert received.status_code == 201, received.text
    nc = await connect_as_ops(cluster)
    try:
        js = nc.jetstream()
        # The key-value buckets too: a receipt's number and a command's idempotency record
        # must survive a node as the events do.
        # And the anchors, and the backups' status: each made by its own process.
        for stream in ("DOSSIER", "PLANNING", "SCORING", "KV_RECEIPT_NUMBERS", "KV_IDEMPOTENCY",
                       "KV_REVOCATIONS", "ANCHORS", "KV_BACKUP_STATUS"):
            info = await stream_once_made(js, stream)
            assert info.config.num_replicas == 3, stream
            assert info.cluster.leader in NODE_NAMES, info.cluster
            peers = info.cluster.replicas or []
            assert len(peers) == 2 and all(p.current for p in peers), (stream, peers)
    finally:
        await nc.close()


async def test_the_department_report_of_15_july_2022_on_the_cluster(api):  # type: ignore[no-untyped-def]
    await report_case(api)


async def test_three_hundred_dossiers_are_each_found_once(api):  # type: ignore[no-untyped-def]
    agency, procedure = await agency_with_procedure(api.admin)
    officer = api.as_("officer", agency)
    tally = await receive_dossiers(late_entries(api), procedure, 300, concurrency=8)
    assert not tally.failed and len(tally.acknowledged) == 300
    found = await dossiers_found(officer, agency, tally.last_position)
    assert Counter(found).most_common(1)[0][1] == 1
    assert set(found) == tally.acknowledged


async def test_faults_under_load_lose_nothing_acknowledged_and_count_nothing_twice(  # type: ignore[no-untyped-def]
        cluster: Deployment, api):
    """Receipts run throughout while: the DOSSIER stream leader's NATS container is killed and
    started again; a NATS node is cut off the network and brought back; a dossier replica is
    SIGKILLed, then the one holding the projection lease (the other takes over); the gateway is
    restarted. Clients retry a failed command with its Idempotency-Key. Afterwards every
    acknowledged dossier is in the read model once, and nothing is there twice."""
    agency, procedure = await agency_with_procedure(api.admin)
    officer = api.as_("officer", agency)
    tally, stop = Tally(), asyncio.Event()
    load = asyncio.create_task(load_until(stop, late_entries(api), procedure, tally))

    pauses: dict[str, float] = {}

    async def phase(name: str, fault) -> None:  # type: ignore[no-untyped-def]
        # Only once the load is acknowledged again: a pause is the fault's own, not the tail of
        # the fault before (clients told to come back later by a 503's Retry-After).
        settled = time.monotonic()
        while tally.last_ack <= settled and time.monotonic() < settled + 60:
            await asyncio.sleep(0.05)
        before, started = tally.figures(), time.monotonic()
        errors_before = Counter(tally.errors)
        tally.longest_pause_s = 0.0
        await fault()
        await asyncio.sleep(4)  # the load goes on against the healed deployment
        after = tally.figures()
        pauses[name] = max(tally.longest_pause_s, time.monotonic() - tally.last_ack)
        FIGURES.append((name, {**{k: after[k] - before[k] for k in after},
                               "longest pause without an ack (ms)": int(pauses[name] * 1000),
                               **(tally.errors - errors_before)}))
        TIMINGS.append((f"fault: {name}", time.monotonic() - started))

    async def kill_the_stream_leader() -> None:
        leader = await stream_leader(cluster, "DOSSIER")
        node = containers_of(cluster, NODE_SERVICES[leader])[0]
        await asyncio.to_thread(kill, node)
        await asyncio.sleep(6)
        await asyncio.to_thread(start, node)
        await asyncio.sleep(4)
        # The stream has a leader again. Its election may still be under way 4 s after the node
        # came back (CI once found none then): wait for it, 30 s at most.
        deadline = time.monotonic() + 30
        while True:
            try:
                leader = await stream_leader(cluster, "DOSSIER")
            except (nats.errors.Error, asyncio.TimeoutError):
                leader = None
            if leader in NODE_NAMES:
                break
            assert time.monotonic() < deadline, "DOSSIER has no leader 34 s after the node came back"
            await asyncio.sleep(0.5)

    async def partition_a_node() -> None:
        leader = await stream_leader(cluster, "DOSSIER")
        # nats-1 publishes the host's port: cut another one off (the leader when it can be).
        name = leader if leader != "nats-1" else "nats-2"
        node = containers_of(cluster, NODE_SERVICES[name])[0]
        aliases = await asyncio.to_thread(disconnect, cluster, node)
        await asyncio.sleep(8)
        await asyncio.to_thread(reconnect, cluster, node, aliases)
        await asyncio.sleep(4)

    async def kill_a_replica_then_the_lease_holder() -> None:
        replicas = containers_of(cluster, "dossier")
        holder = await asyncio.to_thread(lease_holder, cluster, "dossier")
        assert holder in replicas, (holder, replicas)
        other = next(r for r in replicas if r != holder)
        await asyncio.to_thread(kill, other)  # the standby: requests go to the holder alone
        await asyncio.sleep(3)
        await asyncio.to_thread(start, other)
        await asyncio.sleep(6)  # healthy again, standing by
        await asyncio.to_thread(kill, holder)  # the lease holder: the other must take over
        deadline = time.monotonic() + 30
        while await asyncio.to_thread(lease_holder, cluster, "dossier") != other:
            assert time.monotonic() < deadline, "no replica took the projection lease over"
            await asyncio.sleep(1)
        await asyncio.to_thread(start, holder)

    async def restart_the_gateway() -> None:
        gateway = containers_of(cluster, "gateway")[0]
        await asyncio.to_thread(docker, "restart", gateway)
        try:
            await asyncio.to_thread(wait_healthy, cluster.base_url)
        except AssertionError as error:  # which service, and what it said (seen once in CI)
            logs = cluster.docker_compose("logs", "--no-color", "--tail", "80", "dossier",
                                          "planning", "scoring", "gateway").stdout
            raise AssertionError(f"{error}\n{logs[-12000:]}") from None

    faults_began = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    try:
        await asyncio.sleep(3)
        await phase("kill the DOSSIER leader's NATS, start it", kill_the_stream_leader)
        await phase("partition one NATS node, heal", partition_a_node)
        await phase("SIGKILL a dossier replica, then the lease holder",
                    kill_a_replica_then_the_lease_holder)
        await phase("restart the gateway", restart_the_gateway)
    finally:
        stop.set()
        await load

    found = await dossiers_found(officer, agency, tally.last_position)
    unique = set(found)
    figures = {**tally.figures(), "found in the read model": len(unique),
               "found twice": len(found) - len(unique),
               "acknowledged, not found": len(tally.acknowledged - unique),
               "found, never acknowledged": len(unique - tally.acknowledged)}
    FIGURES.append(("all faults, whole run", figures))
    assert figures["acknowledged, not found"] == 0, figures
    assert figures["found twice"] == 0, figures
    # A command given up may have been written before its last failure, never twice.
    assert figures["found, never acknowledged"] <= len(tally.failed), figures
    assert not tally.failed, tally.failed[:5]
    # Not asserted, reported: a pause of 30 s or more (3 of 13 runs before the fixes listed in
    # deploy/README.md, "Faults under load"; none since). Every container's log goes with the
    # warning.
    if folder := os.environ.get("CCHC_STALL_LOG_DIR"):  # every container's, to look closer
        Path(folder).mkdir(parents=True, exist_ok=True)
        Path(folder, "stall.log" if max(pauses.values()) >= 30 else "faults.log").write_text(
            cluster.docker_compose("logs", "--no-color", "--timestamps", "--since",
                                   faults_began).stdout)
    if max(pauses.values()) >= 30:
        # What the gateway said besides answering, from the faults' start (its access lines
        # left out: they only repeat the statuses the figures count).
        logs = cluster.docker_compose("logs", "--no-color", "--since", faults_began,
                                      "gateway").stdout
        said = [line for line in logs.splitlines() if '" 20' not in line and '" 50' not in line]
        warnings.warn(f"commands stalled {max(pauses.values()):.0f} s: {pauses}\n"
                      + "\n".join(said[:50] + ["..."] + said[-20:]))
