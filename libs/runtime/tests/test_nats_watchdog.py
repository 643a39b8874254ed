"""The NATS watchdog: quiet while the server answers, gives up once it has not for long enough,
and moves to another node when its node is cut off from the others."""

import asyncio
import contextlib
import time

import nats
import pytest

from cchc.runtime.nats_watchdog import watch
from cchc.runtime.natsserver import (
    LocalCluster,
    NatsServer,
    cluster_node_config,
    free_port,
    reaches_jetstream,
)


async def test_quiet_while_round_trips_complete_then_gives_up_when_they_stop(tmp_path) -> None:
    server = NatsServer(store_dir=tmp_path / "nats").start()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    try:
        watching = asyncio.create_task(watch(nc, every_s=0.1, give_up_after_s=0.6))
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(asyncio.shield(watching), 1.0)  # the server answers
        server.stop()  # nothing answers now; the client keeps trying to reconnect
        silent = await asyncio.wait_for(watching, 10.0)
        assert silent >= 0.6
    finally:
        await nc.close()
        server.stop()


async def test_a_connection_lost_and_not_back_soon_is_given_up_before_the_long_limit(
        tmp_path, caplog) -> None:
    """Finding a silent node dead takes unanswered PINGs; a reconnect, once the loss is known,
    takes seconds. Lost and not back within ``reconnect_within_s``: given up then, not at
    ``give_up_after_s``."""
    server = NatsServer(store_dir=tmp_path / "nats").start()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    try:
        watching = asyncio.create_task(watch(nc, every_s=0.1, give_up_after_s=60,
                                             reconnect_within_s=1.0))
        await asyncio.sleep(0.5)
        assert not watching.done()
        server.stop()
        lost = time.monotonic()
        await asyncio.wait_for(watching, 10.0)  # not the 60 s of give_up_after_s
        assert 1.0 <= time.monotonic() - lost < 5.0
        # Where the process's tasks wait goes to the log with it: nats-py's own among them.
        dumps = [record.getMessage() for record in caplog.records
                 if "where each task waits" in record.getMessage()]
        assert len(dumps) == 1
        assert "Client._attempt_reconnect (client.py:" in dumps[0]
    finally:
        await nc.close()
        server.stop()


async def test_a_connection_back_within_the_limit_is_kept(tmp_path) -> None:
    server = NatsServer(store_dir=tmp_path / "nats").start()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    try:
        watching = asyncio.create_task(watch(nc, every_s=0.1, give_up_after_s=60,
                                             reconnect_within_s=5.0))
        server.restart()
        await asyncio.sleep(6.0)
        assert nc.is_connected
        assert not watching.done()
    finally:
        await nc.close()
        server.stop()


async def test_a_broker_whose_connection_is_lost_stops_cleanly(tmp_path) -> None:
    """What the watchdog's stop meets: a connection that is reconnecting, which nats-py refuses
    to drain. The broker stops all the same, its connection closed without draining."""
    from nats.errors import ConnectionReconnectingError

    from cchc.runtime.endpoints import client_broker, stop_broker

    server = NatsServer(store_dir=tmp_path / "nats").start()
    broker = client_broker(server.url, "cchc-test")
    nc = await broker.connect()
    try:
        server.stop()
        for _ in range(100):
            if nc.is_reconnecting:
                break
            await asyncio.sleep(0.05)
        assert nc.is_reconnecting
        with pytest.raises(ConnectionReconnectingError):
            await nc.drain()  # what broker.stop() alone ran into
        await asyncio.wait_for(stop_broker(broker, nc), 10)
        assert nc.is_closed
    finally:
        await nc.close()
        server.stop()


async def test_a_broker_whose_reconnect_died_on_a_lost_transport_stops_cleanly(tmp_path) -> None:
    """The drill's gateway after a give-up: nats-py's reconnect died while connecting (status
    CONNECTING) and the node it had reached went away too. Its close then fails flushing into
    the lost transport (ConnectionResetError); the broker stops all the same, so the process
    ends its shutdown instead of "Application shutdown failed"."""
    from cchc.runtime.endpoints import client_broker, stop_broker

    server = NatsServer(store_dir=tmp_path / "nats").start()
    broker = client_broker(server.url, "cchc-test")
    nc = await broker.connect()
    try:
        async def dies_while_connecting() -> None:
            nc._status = nc.CONNECTING
            raise RuntimeError("transport is closing")

        nc._process_connect_init = dies_while_connecting
        server.stop()
        await asyncio.sleep(0.5)
        server.start()  # reached, then the reconnect dies
        for _ in range(100):
            if nc._reconnection_task is not None and nc._reconnection_task.done():
                break
            await asyncio.sleep(0.05)
        # The node goes away under the transport it left. Over TLS (the drill) asyncio closes
        # a transport at the peer's EOF; a plain one stays half open, so it is aborted here.
        nc._transport._io_writer.transport.abort()
        await asyncio.sleep(0.1)
        await nc.publish("anything", b"pending")  # something for the close to flush
        with pytest.raises(ConnectionResetError):
            await nc._transport.drain()  # what nats-py's close runs into
        await asyncio.wait_for(stop_broker(broker, nc), 10)
        assert nc.is_closed
    finally:
        with contextlib.suppress(OSError):
            await nc.close()
        server.stop()


# --- a node cut off from the others ------------------------------------------------------------

@pytest.fixture
def three_nodes(tmp_path):  # type: ignore[no-untyped-def]
    cluster = LocalCluster.start(tmp_path)
    try:
        yield cluster.nodes, cluster.cluster_ports
    finally:
        cluster.stop()


async def test_a_client_on_a_node_cut_off_from_the_others_moves_to_another(three_nodes) -> None:
    """The node answers the client's PINGs, so the round trips go on; but its JetStream is
    unavailable, and every request that needs the others fails. The client moves on."""
    nodes, cluster_ports = three_nodes
    nc = await nats.connect([node.url for node in nodes], dont_randomize=True,
                            max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    watching: asyncio.Task | None = None
    try:
        deadline = time.monotonic() + 30
        while not await reaches_jetstream(nc):  # the cluster has formed, its meta leader chosen
            assert time.monotonic() < deadline, "the cluster never formed"
            await asyncio.sleep(0.2)
        assert nc.connected_url.port == nodes[0].port
        # Watched from here: while the cluster forms, no node's JetStream answers, and a
        # watchdog started before (as it was, once in CI) moved the client on before the test
        # began.
        watching = asyncio.create_task(watch(nc, every_s=0.2, give_up_after_s=60,
                                             move_on_after_s=1.0))
        await asyncio.sleep(2.0)
        assert nc.connected_url.port == nodes[0].port  # a working node: it stays
        for index in (1, 2):  # the others restart wanting a route password n0 does not have
            nodes[index].stop()
            nodes[index].config_file.write_text(cluster_node_config(
                f"n{index}", cluster_ports[index], cluster_ports[1:], password="s3cret"))
            nodes[index].start()
        others = (nodes[1].port, nodes[2].port)
        deadline = time.monotonic() + 30
        while nc.connected_url is None or nc.connected_url.port not in others:
            assert time.monotonic() < deadline, "still on the node that was cut off"
            await asyncio.sleep(0.1)
        deadline = time.monotonic() + 30
        while not await reaches_jetstream(nc):
            assert time.monotonic() < deadline, "moved on, but JetStream still out of reach"
            await asyncio.sleep(0.2)
        assert nc.connected_url is not None and nc.connected_url.port in others
        assert not watching.done()  # moving on is not giving up
    finally:
        if watching is not None:
            watching.cancel()
        await nc.close()


async def test_a_node_reached_by_a_reconnect_gets_less_time_to_serve_jetstream(
        three_nodes, tmp_path) -> None:
    """The drill's longest pauses: the client, its node lost, reconnects to a node whose
    JetStream does not answer (here one whose peers never come), and stays there for the whole
    ``move_on_after_s``. A node just reached gets ``fresh_move_on_after_s`` instead."""
    nodes, _ = three_nodes
    folder = tmp_path / "alone"
    folder.mkdir()  # a node of the same cluster whose routes lead nowhere: JetStream never forms
    (folder / "node.conf").write_text(cluster_node_config("alone", free_port(), [free_port()]))
    alone = NatsServer(store_dir=folder / "js", config_file=folder / "node.conf").start()
    nc = await nats.connect([nodes[0].url, alone.url, nodes[1].url, nodes[2].url],
                            dont_randomize=True, max_reconnect_attempts=-1,
                            reconnect_time_wait=0.1)
    watching = asyncio.create_task(watch(nc, every_s=0.2, give_up_after_s=60,
                                         move_on_after_s=30.0, fresh_move_on_after_s=1.0))
    try:
        deadline = time.monotonic() + 30
        while not await reaches_jetstream(nc):
            assert time.monotonic() < deadline, "the cluster never formed"
            await asyncio.sleep(0.2)
        lone = await nats.connect(alone.url)
        assert not await reaches_jetstream(lone)
        await lone.close()
        nodes[0].stop(kill=True)  # the client's node: it reconnects to the next, the lone one
        deadline = time.monotonic() + 10
        while nc.connected_url is None or nc.connected_url.port != alone.port:
            assert time.monotonic() < deadline, "never reached the lone node"
            await asyncio.sleep(0.05)
        reached = time.monotonic()
        others = (nodes[1].port, nodes[2].port)
        while nc.connected_url is None or nc.connected_url.port not in others:
            assert time.monotonic() - reached < 10, "stayed on the node without JetStream"
            await asyncio.sleep(0.05)
        deadline = time.monotonic() + 30
        while not await reaches_jetstream(nc):  # the two left elect a leader
            assert time.monotonic() < deadline, "moved on, but JetStream still out of reach"
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)
        assert nc.connected_url.port in others  # a node that serves JetStream: it stays
        assert not watching.done()
    finally:
        watching.cancel()
        await nc.close()
        alone.stop()


async def test_a_connected_client_whose_read_loop_ended_is_reconnected(tmp_path, caplog) -> None:
    """nats-py's read loop ends on an error it does not reconnect on (nats-io/nats.py#914), the
    client still CONNECTED and reading nothing; its pings would find out in minutes here."""
    server = NatsServer(store_dir=tmp_path / "nats").start()
    nc = await nats.connect(server.url, ping_interval=600, reconnect_time_wait=0.1)
    nc._reading_task.cancel()  # its loop breaks on the cancel: as on any error it logs
    await asyncio.sleep(0.1)
    assert nc.is_connected and nc._reading_task.done()
    watching = asyncio.create_task(watch(nc, every_s=0.2, give_up_after_s=60))
    try:
        deadline = time.monotonic() + 5
        while nc.stats["reconnects"] == 0 or not nc.is_connected:
            assert time.monotonic() < deadline, "still connected in name only"
            await asyncio.sleep(0.05)
        subscription = await nc.subscribe("reading.again")
        await nc.publish("reading.again", b"yes")
        assert (await subscription.next_msg(timeout=2)).data == b"yes"
        assert not watching.done()
        assert any("read loop has ended" in r.getMessage() for r in caplog.records)
    finally:
        watching.cancel()
        await nc.close()
        server.stop()


async def test_a_reconnect_that_ended_while_still_lost_is_given_up_at_once(tmp_path, caplog) -> None:
    """nats-py's ``_attempt_reconnect`` ends its loop on a CancelledError and leaves the client
    RECONNECTING with no task to reconnect it (the drill's stall). Given up at the next look,
    not after ``reconnect_within_s``."""
    from cchc.runtime.nats_watchdog import reconnect_abandoned

    server = NatsServer(store_dir=tmp_path / "nats").start()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        watching = asyncio.create_task(watch(nc, every_s=0.1, give_up_after_s=60,
                                             reconnect_within_s=60))
        server.stop()
        for _ in range(100):
            if nc.is_reconnecting and nc._reconnection_task is not None:
                break
            await asyncio.sleep(0.05)
        assert not reconnect_abandoned(nc)  # trying: left alone
        await asyncio.sleep(0.5)
        assert not watching.done()
        nc._reconnection_task.cancel()  # its loop breaks; the status stays RECONNECTING
        started = time.monotonic()
        await asyncio.wait_for(watching, 10.0)
        assert time.monotonic() - started < 2.0
        assert nc.is_reconnecting and reconnect_abandoned(nc)
        ended = [r.getMessage() for r in caplog.records if "reconnect has ended" in r.getMessage()]
        assert ended and "its task returned: a cancel it caught" in ended[0], ended
    finally:
        await nc.close()
        server.stop()


async def test_a_reconnect_that_died_while_connecting_is_given_up_at_once(tmp_path, caplog) -> None:
    """nats-py's ``_process_connect_init`` sets CONNECTING first; a reconnect task that dies
    there of an exception nats-py does not list leaves the client CONNECTING for good (the
    drill's stall of 2026-12-07, 06:42). Given up at the next look, with the exception logged."""
    from cchc.runtime.nats_watchdog import reconnect_abandoned

    server = NatsServer(store_dir=tmp_path / "nats").start()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        async def dies_while_connecting() -> None:
            nc._status = nc.CONNECTING
            raise RuntimeError("transport is closing")

        nc._process_connect_init = dies_while_connecting  # the next connect fails so
        watching = asyncio.create_task(watch(nc, every_s=0.1, give_up_after_s=60,
                                             reconnect_within_s=60))
        server.stop()
        await asyncio.sleep(0.5)
        assert not watching.done()  # reconnecting against a server that is away: left alone
        server.start()
        started = time.monotonic()
        await asyncio.wait_for(watching, 10.0)
        assert time.monotonic() - started < 3.0
        assert nc.is_connecting and reconnect_abandoned(nc)
        [ended] = [r for r in caplog.records if "reconnect has ended" in r.getMessage()]
        assert "status CONNECTING" in ended.getMessage()
        assert "its task raised RuntimeError: transport is closing" in ended.getMessage()
        assert ended.exc_info is not None  # with the traceback
    finally:
        await nc.close()
        server.stop()


async def test_how_a_reconnect_task_ended_is_told_apart() -> None:
    from cchc.runtime.nats_watchdog import how_it_ended

    async def fails() -> None:  # an exception nats-py's loop does not list
        raise RuntimeError("transport is closing")

    async def swallows_its_cancel() -> None:  # as nats-py's loop does
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(60)

    failed = asyncio.create_task(fails())
    cancelled = asyncio.create_task(asyncio.sleep(60))
    returned = asyncio.create_task(swallows_its_cancel())
    await asyncio.sleep(0)
    cancelled.cancel()
    returned.cancel()
    await asyncio.gather(failed, cancelled, returned, return_exceptions=True)
    assert how_it_ended(failed) == "its task raised RuntimeError: transport is closing"
    assert how_it_ended(cancelled) == "its task was cancelled"
    assert how_it_ended(returned).startswith("its task returned")
    assert how_it_ended(None) == "no reconnect task"
