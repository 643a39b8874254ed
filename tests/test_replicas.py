"""Streams and buckets made with fewer replicas than configured (before the installation became a
cluster, or by a release that made its buckets R1) are named in the log of every process that
opens them, and `cchc replicas --raise-to N` raises them on a live cluster of real nats-servers,
every event kept: after the raise, the node that held the only copy can go."""

import asyncio
import logging
import time

import nats
import pytest

from cchc.cli.main import main
from cchc.gateway import idempotency, revocation
from cchc.runtime.natsserver import LocalCluster, wait_for_jetstream
from cchc.runtime.streams import ensure_event_stream

pytestmark = pytest.mark.slow

EVENTS = 50


@pytest.fixture
def cluster(tmp_path):  # type: ignore[no-untyped-def]
    nodes = LocalCluster.start(tmp_path)
    try:
        yield nodes
    finally:
        nodes.stop()


def warnings_about(caplog: pytest.LogCaptureFixture, stream: str) -> list[str]:
    return [record.getMessage() for record in caplog.records
            if record.levelno == logging.WARNING and f"stream {stream} " in record.getMessage()]


async def copies_current(js, stream: str, wanted: int, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    """The stream's info once ``wanted`` peers hold it, every follower caught up."""
    deadline = time.monotonic() + timeout
    while True:
        info = await js.stream_info(stream)
        followers = info.cluster.replicas or []
        if info.cluster.leader and len(followers) == wanted - 1 and all(
                peer.current for peer in followers):
            return info
        assert time.monotonic() < deadline, f"{stream}: copies never caught up: {info.cluster}"
        await asyncio.sleep(0.2)


async def test_r1_streams_are_named_then_raised_on_a_live_cluster_every_event_kept(
    cluster, caplog, capsys,
):
    nc = await nats.connect(cluster.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        await wait_for_jetstream(nc)
        js = nc.jetstream(timeout=10)
        # What an earlier release, or a single node, made: R1 everywhere.
        await ensure_event_stream(js, "dossier", replicas=1)
        # A stream just made on a cluster takes its writes once its leader is chosen: before,
        # a publish may find no responder (seen once in CI).
        await copies_current(js, "DOSSIER", 1)
        for n in range(EVENTS):
            await js.publish(f"cchc.dossier.dossier.d{n % 7}", f"event {n}".encode())
        await idempotency.open_bucket(js, ttl_s=3600, replicas=1)
        await revocation.open_bucket(nc, replicas=1)
        await ensure_event_stream(js, "planning", replicas=3)
        only_copy = (await js.stream_info("DOSSIER")).cluster.leader

        # Now configured for the cluster: every process says what it finds, once per start.
        caplog.set_level(logging.WARNING, logger="cchc.replicas")
        await ensure_event_stream(js, "dossier", replicas=3)
        await idempotency.open_bucket(js, ttl_s=3600, replicas=3)
        await revocation.open_bucket(nc, replicas=3)
        await ensure_event_stream(js, "planning", replicas=3)
        for stream in ("DOSSIER", "KV_IDEMPOTENCY", "KV_REVOCATIONS"):
            [warning] = warnings_about(caplog, stream)
            assert "keeps 1 replica(s) where 3 are configured" in warning
            assert "cchc replicas --nats-url <ops URL> --raise-to 3" in warning
        assert warnings_about(caplog, "PLANNING") == []

        assert await asyncio.to_thread(
            main, ["replicas", "--nats-url", cluster.urls[0], "--raise-to", "3"]) == 0
        printed = capsys.readouterr().out.splitlines()
        assert sorted(printed) == ["DOSSIER: 1 -> 3 replicas", "KV_IDEMPOTENCY: 1 -> 3 replicas",
                                   "KV_REVOCATIONS: 1 -> 3 replicas"]

        info = await copies_current(js, "DOSSIER", 3)
        assert info.config.num_replicas == 3 and info.state.messages == EVENTS
        caplog.clear()
        await ensure_event_stream(js, "dossier", replicas=3)
        await idempotency.open_bucket(js, ttl_s=3600, replicas=3)
        assert warnings_about(caplog, "DOSSIER") == warnings_about(caplog, "KV_IDEMPOTENCY") == []
        assert await asyncio.to_thread(
            main, ["replicas", "--nats-url", cluster.urls[0], "--raise-to", "3"]) == 0
        assert "nothing to raise" in capsys.readouterr().out
    finally:
        await nc.close()

    # The node that held the only copy goes: every event is still read, from the others.
    [gone] = [node for node in cluster.nodes if f"server_name: {only_copy}\n" in
              node.config_file.read_text()]
    gone.stop(kill=True)
    others = [node.url for node in cluster.nodes if node is not gone]
    nc = await nats.connect(others, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        js = nc.jetstream(timeout=10)
        deadline = time.monotonic() + 30
        while True:
            try:
                info = await js.stream_info("DOSSIER")
                if info.cluster.leader and info.cluster.leader != only_copy:
                    break
            except Exception:  # noqa: BLE001 - no leader yet: 503 or a timeout
                pass
            assert time.monotonic() < deadline, "DOSSIER has no leader without its first node"
            await asyncio.sleep(0.2)
        assert info.state.messages == EVENTS
        stored = [(await js.get_msg("DOSSIER", seq)).data for seq in range(1, EVENTS + 1)]
        assert stored == [f"event {n}".encode() for n in range(EVENTS)]
    finally:
        await nc.close()


async def test_a_raise_the_cluster_cannot_hold_is_refused_and_changes_nothing(cluster, capsys):
    nc = await nats.connect(cluster.urls, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        await wait_for_jetstream(nc)
        js = nc.jetstream(timeout=10)
        await ensure_event_stream(js, "dossier", replicas=3)
        assert await asyncio.to_thread(
            main, ["replicas", "--nats-url", cluster.urls[0], "--raise-to", "5"]) == 1
        printed = capsys.readouterr()
        assert printed.err.startswith("DOSSIER: left at 3: ")
        assert (await js.stream_info("DOSSIER")).config.num_replicas == 3

        assert await asyncio.to_thread(
            main, ["replicas", "--nats-url", cluster.urls[0]]) == 0  # the listing
        assert capsys.readouterr().out == "DOSSIER: 3 replica(s)\n"
    finally:
        await nc.close()


@pytest.mark.parametrize("wanted", ["0", "6"])
def test_a_replica_count_nats_cannot_have_is_refused_before_connecting(wanted, capsys):
    assert main(["replicas", "--nats-url", "nats://127.0.0.1:1", "--raise-to", wanted]) == 2
    assert "--raise-to is a number from 1 to 5" in capsys.readouterr().err
