"""Faults done to a running compose cluster (compose.yaml + compose.cluster.yaml) with the Docker
CLI: kill and start a NATS node, cut one off the network and bring it back, SIGKILL a service
replica, restart the gateway; and who leads what (the stream leader, the projection lease)."""

import json
import subprocess

from compose_deployment import Deployment, connect_as_ops

# NATS server name (POD_NAME) -> compose service
NODE_SERVICES = {"nats-1": "nats", "nats-2": "nats-2", "nats-3": "nats-3"}


def docker(*args: str, timeout: float = 120) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr}"
    return done.stdout


def containers_of(deployment: Deployment, service: str) -> list[str]:
    """The container names of a service, replica 1 first."""
    listed = deployment.docker_compose("ps", "--format", "json", service).stdout
    names = [json.loads(line)["Name"] for line in listed.splitlines() if line.strip()]
    return sorted(names)


async def stream_leader(deployment: Deployment, stream: str) -> str:
    nc = await connect_as_ops(deployment)
    try:
        return (await nc.jetstream().stream_info(stream)).cluster.leader
    finally:
        await nc.close()


def kill(container: str, signal: str = "KILL") -> None:
    docker("kill", "--signal", signal, container)


def start(container: str) -> None:
    docker("start", container)


def network_of(deployment: Deployment) -> str:
    return f"{deployment.project}_default"


def aliases_of(container: str, network: str) -> list[str]:
    inspected = json.loads(docker("inspect", container))[0]
    return inspected["NetworkSettings"]["Networks"][network].get("Aliases") or []


def disconnect(deployment: Deployment, container: str) -> list[str]:
    """Cut the container off the deployment's network; returns its aliases, for reconnect."""
    network = network_of(deployment)
    aliases = aliases_of(container, network)
    docker("network", "disconnect", network, container)
    return aliases


def reconnect(deployment: Deployment, container: str, aliases: list[str]) -> None:
    args = [arg for alias in aliases for arg in ("--alias", alias)]
    docker("network", "connect", *args, network_of(deployment), container)


def container_addresses(deployment: Deployment, service: str) -> dict[str, str]:
    """IP address on the deployment's network -> container name, for every replica."""
    network = network_of(deployment)
    found = {}
    for name in containers_of(deployment, service):
        inspected = json.loads(docker("inspect", name))[0]
        found[inspected["NetworkSettings"]["Networks"][network]["IPAddress"]] = name
    return found


def lease_holder(deployment: Deployment, service: str) -> str | None:
    """The replica holding a projection lease of the service (a PostgreSQL session advisory
    lock, libs/runtime leadership.py): the container whose connection holds one."""
    listed = deployment.docker_compose(
        "exec", "-T", "postgres", "psql", "-U", "postgres", "-At", "-c",
        "SELECT DISTINCT host(a.client_addr) FROM pg_locks l JOIN pg_stat_activity a "
        f"USING (pid) WHERE l.locktype = 'advisory' AND a.datname = 'cchc_{service}' "
        "AND l.granted")
    addresses = container_addresses(deployment, service)
    holders = [addresses[ip] for ip in listed.stdout.split() if ip in addresses]
    return holders[0] if holders else None
