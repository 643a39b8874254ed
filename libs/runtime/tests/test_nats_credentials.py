"""A client whose node goes away gets back through the cluster's other nodes with its own user
(cchc.runtime.nats_credentials): before, nats-py sent the nodes it had learned from the cluster
no credentials, they answered "Authorization Violation", and a client whose URL named the dead
node never got back."""

import asyncio

import pytest

from cchc.runtime.endpoints import connect_broker, service_broker
from cchc.runtime.nats_credentials import connect, servers_and_credentials
from cchc.runtime.natsserver import LocalCluster, wait_for_jetstream

USERS = 'authorization { users: [ { user: "svc", password: "p@ss/w:rd" } ] }\n'
URL_CREDENTIALS = "svc:p%40ss%2Fw%3Ard@"  # as nats_auth.url_with_credentials writes them


def test_the_credentials_leave_the_url_and_go_to_the_options():
    assert servers_and_credentials(f"tls://{URL_CREDENTIALS}nats:4222") == {
        "servers": ["tls://nats:4222"], "user": "svc", "password": "p@ss/w:rd"}
    assert servers_and_credentials(["nats://a:4222", f"nats://{URL_CREDENTIALS}b:4222"]) == {
        "servers": ["nats://a:4222", "nats://b:4222"], "user": "svc", "password": "p@ss/w:rd"}
    assert servers_and_credentials("nats://s3cr3t-token@a:4222") == {
        "servers": ["nats://a:4222"], "token": "s3cr3t-token"}
    assert servers_and_credentials("nats://127.0.0.1:4222") == {
        "servers": ["nats://127.0.0.1:4222"]}
    # A setting naming several nodes, separated by commas (spaces around them forgiven).
    assert servers_and_credentials(f"tls://{URL_CREDENTIALS}nats-0:4222, tls://nats-1:4222") == {
        "servers": ["tls://nats-0:4222", "tls://nats-1:4222"], "user": "svc",
        "password": "p@ss/w:rd"}


@pytest.fixture
def cluster(tmp_path):
    cluster = LocalCluster.start(tmp_path, clients=USERS)
    yield cluster
    cluster.stop()


def with_credentials(url: str) -> str:
    return url.replace("nats://", f"nats://{URL_CREDENTIALS}")


@pytest.mark.parametrize("kind", ["nats-py", "broker"])
async def test_a_client_whose_node_is_gone_gets_back_through_another_with_its_user(
        cluster, kind):
    errors: list[str] = []

    async def noted(error: Exception) -> None:
        errors.append(f"{type(error).__name__}: {error}")

    url = with_credentials(cluster.urls[0])
    if kind == "nats-py":
        nc = await connect(url, error_cb=noted, reconnect_time_wait=0.2,
                           max_reconnect_attempts=-1)
    else:
        broker = service_broker(url, "credentials-test", reconnect_time_wait=0.2)
        nc = await connect_broker(broker)
        nc._error_cb = noted  # connect_broker logs them; the test counts them
    try:
        await wait_for_jetstream(nc)
        # The other nodes' addresses are known from the cluster, as in any deployment.
        others = {int(url.rsplit(":", 1)[1]) for url in cluster.urls[1:]}
        assert others <= {server.port for server in nc.servers}, nc.servers
        cluster.nodes[0].stop()
        for _ in range(150):
            if nc.is_connected and nc.connected_url.port in others:
                break
            await asyncio.sleep(0.1)
        assert nc.is_connected, errors
        assert not any("Authorization" in error for error in errors), errors
        await wait_for_jetstream(nc)  # and it works there
    finally:
        await nc.close()


async def test_a_setting_naming_several_nodes_starts_while_its_first_is_down(cluster):
    """Outside Kubernetes there may be no name that resolves to every node: a service started
    while the first node it names is down connects to the next, with its user, through the
    broker the services use."""
    formed = await connect(with_credentials(cluster.urls[1]))
    await wait_for_jetstream(formed)  # the cluster ran before its first node went down
    await formed.close()
    cluster.nodes[0].stop()
    setting = ",".join(with_credentials(url) for url in cluster.urls)
    broker = service_broker(setting, "several-nodes-test", reconnect_time_wait=0.2)
    nc = await connect_broker(broker)
    try:
        assert nc.is_connected and nc.connected_url.port != int(cluster.urls[0].rsplit(":", 1)[1])
        await wait_for_jetstream(nc)
    finally:
        await broker.stop()
