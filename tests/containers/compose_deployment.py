"""A compose deployment of deploy/ run on the Docker engine through testcontainers' DockerCompose.

Each deployment runs from its own copy of deploy/ (compose resolves ./tls/certs, ./nats and
./postgres from the compose file's folder), prepared with the operator's own steps of
deploy/README.md: `make_secrets.py --only compose`, `tls/make_certs.py`, and the images of
deploy/images/build.py named by deploy/images/offline.vars. Its project name and host ports are
its own, so it runs beside a developer's deployment and the machine's own NATS on 4222.
"""

import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from api_client import Api

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
PROJECT_PREFIX = "cchc-test-"
# (what, seconds) of this run, printed at the end (tests/containers/conftest.py)
TIMINGS: list[tuple[str, float]] = []
# (what, figures) of the fault tests, printed at the end too
FIGURES: list[tuple[str, dict[str, int]]] = []

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # the reaper image can't be pulled
from testcontainers.compose import DockerCompose  # noqa: E402


def free_port() -> int:
    from cchc.runtime.natsserver import free_port as free

    return free()


def read_env(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values


def prepare(folder: Path, project: str, sans: tuple[str, ...] = ()) -> dict[str, str]:
    """A copy of deploy/ with its secrets, certificates and ports; returns its .env values."""
    def operators_own(directory: str, names: list[str]) -> set[str]:
        # A developer's secrets, certificates and wheels are not this deployment's.
        return {n for n in names if n in (".env", "certs", "wheels", "__pycache__",
                                          "backup-identity.txt")
                or (Path(directory).name == "secrets" and n.endswith(".env"))}

    shutil.copytree(DEPLOY, folder, ignore=operators_own)
    for command in (
        [sys.executable, str(folder / "make_secrets.py"), "--deploy-dir", str(folder),
         "--only", "compose"],
        [sys.executable, str(folder / "tls" / "make_certs.py"), "--out",
         str(folder / "tls" / "certs"), *[arg for san in sans for arg in ("--san", san)]],
    ):
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    with (folder / ".env").open("a") as env:
        env.write(f"COMPOSE_PROJECT_NAME={project}\n"
                  f"CCHC_HTTP_PORT={free_port()}\nCCHC_NATS_PORT={free_port()}\n")
    return read_env(folder / ".env")


@dataclass
class Deployment:
    """One compose project: its folder, its files, its settings, the API of its gateway."""

    folder: Path
    files: list[str]
    env: dict[str, str]
    compose: DockerCompose = field(init=False)

    def __post_init__(self) -> None:
        self.compose = DockerCompose(
            context=self.folder, compose_file_name=self.files,
            env_file=[".env", "images/offline.vars"], wait=True)

    @property
    def project(self) -> str:
        return self.env["COMPOSE_PROJECT_NAME"]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['CCHC_HTTP_PORT']}"

    @property
    def nats_url_as_ops(self) -> str:
        return f"tls://ops:{self.env['CCHC_NATS_OPS_PASSWORD']}@127.0.0.1:{self.env['CCHC_NATS_PORT']}"

    @property
    def ca_file(self) -> Path:
        return self.folder / "tls" / "certs" / "ca.crt"

    def api(self) -> Api:
        return Api(self.base_url, self.env["CCHC_GATEWAY_JWT_SECRET"])

    def docker_compose(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", "compose", *[a for f in self.files for a in ("-f", f)], "--env-file",
             ".env", "--env-file", "images/offline.vars", *args],
            cwd=self.folder, capture_output=True, text=True, timeout=timeout)

    def up(self) -> float:
        """`docker compose up --wait`, then the gateway's /health; returns the seconds taken."""
        started = time.monotonic()
        try:
            self.compose.start()
        except subprocess.CalledProcessError as failed:
            raise AssertionError(
                f"compose up failed:\n{failed.stderr.decode(errors='replace')[-3000:]}\n"
                f"{self.logs()[-6000:]}") from failed
        wait_healthy(self.base_url)
        return time.monotonic() - started

    def logs(self) -> str:
        return self.docker_compose("logs", "--no-color", "--tail", "60").stdout

    def down(self) -> None:
        self.compose.stop(down=True)  # down --volumes


def wait_healthy(base_url: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            answer = httpx.get(f"{base_url}/health", timeout=5)
            if answer.status_code == 200:
                return
            last = f"{answer.status_code} {answer.text[:300]}"
        except httpx.TransportError as error:
            last = repr(error)
        time.sleep(0.5)
    raise AssertionError(f"{base_url}/health never answered 200: {last}")


def new_project(kind: str) -> str:
    """A project name that says which test process owns it (its pid)."""
    return f"{PROJECT_PREFIX}{kind}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def owner_alive(project: str) -> bool:
    pid = project.rsplit("-", 2)[-2] if project.count("-") >= 3 else ""
    return pid.isdigit() and Path(f"/proc/{pid}").exists()


def remove_leftover_projects() -> None:
    """Containers, networks and volumes of test projects a killed run left behind (there is no
    reaper: Ryuk cannot be pulled here)."""
    listed = subprocess.run(
        ["docker", "ps", "-a", "--format", '{{.Label "com.docker.compose.project"}}'],
        capture_output=True, text=True)
    for project in set(listed.stdout.split()):
        # Another test run's live deployment is left alone.
        if project.startswith(PROJECT_PREFIX) and not owner_alive(project):
            subprocess.run(["docker", "compose", "-p", project, "down", "--volumes",
                            "--remove-orphans"], capture_output=True, timeout=300)


async def connect_as_ops(deployment: Deployment):  # type: ignore[no-untyped-def]
    """A NATS connection as `ops` from the host, over TLS through the published client port."""
    import ssl

    import nats

    context = ssl.create_default_context(cafile=str(deployment.ca_file))
    return await nats.connect(deployment.nats_url_as_ops, tls=context, connect_timeout=5,
                              allow_reconnect=True, max_reconnect_attempts=-1,
                              reconnect_time_wait=0.5, name="cchc-container-tests")


def readme_block(marker: str) -> str:
    """The sh block that follows `<!-- drill: <marker> ... -->` in deploy/README.md."""
    text = (DEPLOY / "README.md").read_text()
    after = text[text.index(f"<!-- drill: {marker}"):]
    return after.split("```sh\n", 1)[1].split("```", 1)[0]


def run_readme_block(marker: str, deployment: Deployment, **env: str) -> str:
    """Run that block with bash, as an operator would from the folder above `deploy/`, with
    the offline images in the environment and this test's Python tools (cchc) on the PATH."""
    images = read_env(deployment.folder / "images" / "offline.vars")
    path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", readme_block(marker)], cwd=deployment.folder.parent,
        env={**os.environ, **images, "PATH": path, **env}, capture_output=True, text=True,
        timeout=600)
    assert done.returncode == 0, f"{marker}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout
