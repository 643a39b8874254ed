"""TLS and route authorization of the deploy NATS configuration, on real nats-servers.

Certificates come from deploy/tls/make_certs.py. Clients: the secured server (deploy/nats/tls.conf
and accounts.conf) accepts a TLS client that trusts the private CA, including one with no TLS settings of its
own that trusts it through SSL_CERT_FILE, and refuses a plaintext client and one that
does not trust the CA. Routes: two nodes run k8s/base/nats/cluster.conf (mutual TLS and the route
user); they form a cluster only with the right route password and certificates from the same CA.
"""

import asyncio
import json
import re
import ssl
import time
from pathlib import Path

import nats
import pytest
from cchc.runtime.natsserver import NatsServer, NatsServerError, free_port

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
K8S_NATS = DEPLOY / "k8s" / "base" / "nats"


async def test_a_client_trusting_the_ca_gets_in_over_tls(connect):
    ops = await connect("ops")
    assert ops.nc.is_connected
    assert ops.nc._server_info.get("tls_required") is True
    subscription = await ops.nc.subscribe("cchc.dossier.SNV.x.Tested")
    await ops.nc.publish("cchc.dossier.SNV.x.Tested", b"over tls")
    assert (await subscription.next_msg(timeout=2)).data == b"over tls"


async def test_a_client_without_a_ca_setting_still_trusts_the_ca_through_ssl_cert_file(
    secured_nats, nats_user_url, nats_certs, monkeypatch
):
    # How installations trusted the CA before CCHC_<SERVICE>_NATS_TLS_CA, and an operator's
    # shell with the cli: nats.connect(url) with no TLS argument, OpenSSL's default file decides.
    monkeypatch.setenv("SSL_CERT_FILE", str(nats_certs / "ca.crt"))
    nc = await nats.connect(nats_user_url(secured_nats, "ops"), allow_reconnect=False)
    assert nc.is_connected
    await nc.close()


async def test_a_client_that_does_not_trust_the_ca_is_refused(secured_nats, nats_user_url,
                                                              monkeypatch):
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)  # the system's CAs only
    with pytest.raises(Exception) as refused:  # noqa: B017 - ssl's error, or nats-py's wrapper
        await nats.connect(nats_user_url(secured_nats, "ops"), allow_reconnect=False,
                           connect_timeout=3)
    assert "certificate verify failed" in repr(refused.value).lower() or isinstance(
        refused.value, (ssl.SSLError, nats.errors.NoServersError)), refused.value


async def test_a_plaintext_client_is_refused(secured_nats, deploy_tls):
    reader, writer = await asyncio.open_connection(secured_nats.host, secured_nats.port)
    try:
        info = json.loads((await asyncio.wait_for(reader.readline(), 3)).split(b" ", 1)[1])
        assert info["tls_required"] is True
        login = {"user": "ops", "pass": deploy_tls.passwords["ops"], "verbose": False,
                 "pedantic": False}
        writer.write(b"CONNECT " + json.dumps(login).encode() + b"\r\nPING\r\n")
        await writer.drain()
        answer = b""
        try:
            while b"PONG" not in answer:
                chunk = await asyncio.wait_for(reader.read(4096), 5)
                if not chunk:
                    break  # the server closed the connection
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        assert b"PONG" not in answer, answer
    finally:
        writer.close()


# --- routes ----------------------------------------------------------------------------------

def node_folder(folder: Path, name: str, certs: Path, deploy_tls) -> tuple[Path, int]:
    """One node's config: the k8s cluster.conf and its includes, with loopback ports and paths."""
    folder.mkdir(parents=True)
    cluster_port = free_port()
    settings = (K8S_NATS / "nats-server.conf").read_text()
    settings = re.sub(r'http: "127\.0\.0\.1:\d+"', f'http: "127.0.0.1:{free_port()}"', settings)
    # NatsServer gives the store folder on the command line (-sd), which may not repeat it.
    assert 'store_dir: "/data/jetstream"' in settings
    settings = settings.replace('store_dir: "/data/jetstream"', "")
    settings = settings.replace("max_file_store: 200G", "max_file_store: 1G")
    (folder / "nats-server.conf").write_text(settings)
    (folder / "accounts.conf").write_text((K8S_NATS / "accounts.conf").read_text())
    (folder / "tls.conf").write_text(deploy_tls.with_cert_paths(
        (K8S_NATS / "tls.conf").read_text(), certs))
    cluster = deploy_tls.with_cert_paths((K8S_NATS / "cluster.conf").read_text(), certs)
    assert "listen: 0.0.0.0:6222" in cluster and "/var/run/nats/nats.pid" in cluster
    cluster = cluster.replace("listen: 0.0.0.0:6222", f"listen: 127.0.0.1:{cluster_port}")
    cluster = cluster.replace("/var/run/nats/nats.pid", str(folder / "nats.pid"))
    (folder / "cluster.conf").write_text(cluster)
    return folder / "cluster.conf", cluster_port


def start_nodes(tmp_path: Path, deploy_tls, certs: list[Path], route_passwords: list[str]
                ) -> list[NatsServer]:
    configs = [node_folder(tmp_path / f"nats-{i}", f"nats-{i}", certs[i], deploy_tls)
               for i in range(2)]
    absent = free_port()
    servers = []
    for index, (config, _) in enumerate(configs):
        with pytest.MonkeyPatch.context() as patch:
            for user, password in deploy_tls.passwords.items():
                patch.setenv(deploy_tls.password_variable(user), password)
            patch.setenv("POD_NAME", f"nats-{index}")
            patch.setenv("CCHC_NATS_ROUTE_PASSWORD", route_passwords[index])
            # As the StatefulSet does: each route URL whole, with this node's route password.
            # The third node of the config is absent (a port nobody listens on).
            for peer, port in enumerate([port for _, port in configs] + [absent]):
                patch.setenv(f"NATS_ROUTE_{peer}",
                             f"nats-route://route:{route_passwords[index]}@127.0.0.1:{port}")
            servers.append(NatsServer(store_dir=config.parent / "js", config_file=config))
            try:
                servers[-1].start()
            except NatsServerError:
                for server in servers[:-1]:
                    server.stop()
                raise
    return servers


async def routed(servers: list[NatsServer], ca: Path, deploy_tls, within: float) -> bool:
    """Whether a message published on one node reaches a subscriber on the other."""
    tls = deploy_tls.tls_context(ca)
    password = deploy_tls.passwords["ops"]
    a, b = [await nats.connect(s.url, user="ops", password=password, tls=tls) for s in servers]
    try:
        subscription = await b.subscribe("cchc.dossier.SNV.route.Tested")
        await b.flush()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            await a.publish("cchc.dossier.SNV.route.Tested", b"routed")
            try:
                await subscription.next_msg(timeout=0.3)
                return True
            except nats.errors.TimeoutError:
                continue
        return False
    finally:
        await a.close()
        await b.close()


def route_errors(servers: list[NatsServer]) -> str:
    return "\n".join(line for s in servers for line in s.log_path.read_text().splitlines()
                     if "rid:" in line and ("[ERR]" in line or "closed" in line))


@pytest.mark.slow
async def test_routes_form_with_mutual_tls_and_the_route_password(tmp_path, deploy_tls):
    certs = deploy_tls.make_certs(tmp_path / "certs")
    servers = start_nodes(tmp_path, deploy_tls, [certs, certs], ["route-secret"] * 2)
    try:
        assert await routed(servers, certs / "ca.crt", deploy_tls, 15), route_errors(servers)
        log = servers[0].log_path.read_text()
        assert "Route connection created" in log and "authentication error" not in log.lower()
    finally:
        for server in servers:
            server.stop()


@pytest.mark.slow
async def test_a_route_with_the_wrong_password_is_refused(tmp_path, deploy_tls):
    certs = deploy_tls.make_certs(tmp_path / "certs")
    servers = start_nodes(tmp_path, deploy_tls, [certs, certs], ["route-secret", "guessed"])
    try:
        assert not await routed(servers, certs / "ca.crt", deploy_tls, 4)
        assert "authentication error" in route_errors(servers).lower() or \
            "authorization violation" in route_errors(servers).lower(), route_errors(servers)
    finally:
        for server in servers:
            server.stop()


@pytest.mark.slow
async def test_a_route_from_a_node_of_another_ca_is_refused(tmp_path, deploy_tls):
    ours = deploy_tls.make_certs(tmp_path / "ours")
    theirs = deploy_tls.make_certs(tmp_path / "theirs")
    servers = start_nodes(tmp_path, deploy_tls, [ours, theirs], ["route-secret"] * 2)
    try:
        # Each client trusts its own node's CA; the two nodes never trust each other.
        tls_a, tls_b = (deploy_tls.tls_context(c / "ca.crt") for c in (ours, theirs))
        password = deploy_tls.passwords["ops"]
        a = await nats.connect(servers[0].url, user="ops", password=password, tls=tls_a)
        b = await nats.connect(servers[1].url, user="ops", password=password, tls=tls_b)
        try:
            subscription = await b.subscribe("cchc.dossier.SNV.route.Tested")
            await b.flush()
            await asyncio.sleep(3)  # time for routes to have formed, had they been allowed
            await a.publish("cchc.dossier.SNV.route.Tested", b"routed")
            with pytest.raises(nats.errors.TimeoutError):
                await subscription.next_msg(timeout=1)
        finally:
            await a.close()
            await b.close()
        assert "tls" in route_errors(servers).lower(), route_errors(servers)
    finally:
        for server in servers:
            server.stop()


# --- a node that goes silent -----------------------------------------------------------------

class SilentProxy:
    """A TCP relay to a server that can go silent: it stops relaying and answering, and keeps
    every connection open (a node cut off the network: no FIN, no RST, nothing)."""

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.silent = asyncio.Event()
        self.server: asyncio.Server | None = None
        self.tasks: set[asyncio.Task] = set()

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def _relay(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter):
        server_in, server_out = await asyncio.open_connection(*self.upstream)
        for source, sink in ((client_in, server_out), (server_in, client_out)):
            task = asyncio.create_task(self._pump(source, sink))
            self.tasks.add(task)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        while not self.silent.is_set():
            reading = asyncio.ensure_future(source.read(65536))
            silenced = asyncio.ensure_future(self.silent.wait())
            await asyncio.wait({reading, silenced}, return_when=asyncio.FIRST_COMPLETED)
            silenced.cancel()
            if self.silent.is_set() or not reading.done() or not reading.result():
                reading.cancel()
                break
            sink.write(reading.result())
        await asyncio.Event().wait()  # silent: hold the connection, answer nothing

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        assert self.server is not None
        self.server.close()


async def test_a_client_whose_node_goes_silent_is_on_another_within_seconds(
        secured_nats, nats_user_url, nats_certs, deploy_tls):
    """The gateway and the services lost a killed node's TLS connection and then waited for its
    close (nats-py waits for the close before reconnecting; a silent peer never answers the TLS
    close_notify): half a minute or more with no connection at all. The close is bounded now
    (cchc.runtime.nats_transport): the client is on the other server a few seconds after its
    pings go unanswered."""
    from cchc.runtime.nats_transport import bound_transport_close

    bound_transport_close()
    direct = nats_user_url(secured_nats, "ops")
    proxy = SilentProxy(secured_nats.host, secured_nats.port)
    relayed = re.sub(r":\d+$", f":{await proxy.start()}", direct)
    reconnected = asyncio.Event()

    async def on_reconnect() -> None:
        reconnected.set()

    nc = await nats.connect(servers=[relayed, direct], dont_randomize=True,
                            tls=deploy_tls.tls_context(nats_certs / "ca.crt"), ping_interval=1,
                            max_outstanding_pings=2, reconnect_time_wait=0.2,
                            reconnected_cb=on_reconnect)
    try:
        assert nc.connected_url is not None and nc.connected_url.port != secured_nats.port
        await nc.flush()
        proxy.silent.set()
        silenced = time.monotonic()
        await asyncio.wait_for(reconnected.wait(), 20)
        assert nc.connected_url.port == secured_nats.port
        await nc.flush(timeout=2)
        # pings unanswered for ~3 s, then the bounded close (2 s), then the other server
        assert time.monotonic() - silenced < 10
    finally:
        await nc.close()
        await proxy.stop()
