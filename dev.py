#!/usr/bin/env python3
"""Set up and run CCHC Ledger with nothing but Python 3.11+.

    python3 dev.py up      # the whole system, embedded default (nats-server, services, gateway)
    python3 dev.py test    # the test suite

Both first make sure .venv holds exactly requirements.lock plus this repository's packages
(editable); the install is redone only when the lock or a package's metadata changes.
"""

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
LOCK = ROOT / "requirements.lock"
PACKAGES = [
    "contracts", "libs/runtime", "services/dossier", "services/planning", "services/scoring",
    "services/gateway", "cli",
]
STAMP = VENV / ".cchc-installed"


def venv_bin(name: str) -> Path:
    return VENV / ("Scripts" if os.name == "nt" else "bin") / name


def fingerprint() -> str:
    digest = hashlib.sha256(LOCK.read_bytes())
    for package in PACKAGES:
        digest.update((ROOT / package / "pyproject.toml").read_bytes())
    return digest.hexdigest()


def ensure_environment() -> None:
    if sys.version_info < (3, 11):
        sys.exit("CCHC Ledger needs Python 3.11 or newer")
    if not venv_bin("python").exists():
        print("creating .venv", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    wanted = fingerprint()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    pip = [str(venv_bin("python")), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    print("installing requirements.lock and the project's packages into .venv", flush=True)
    subprocess.run([*pip, "-r", str(LOCK)], check=True)
    editable = [arg for package in PACKAGES for arg in ("-e", str(ROOT / package))]
    subprocess.run([*pip, "--no-deps", "--no-build-isolation", *editable], check=True)
    STAMP.write_text(wanted)


def run_tests(args: list[str]) -> int:
    code = subprocess.call([str(venv_bin("python")), "-m", "pytest", *args], cwd=ROOT)
    if code == 5:  # pytest ran no test: never a pass
        print("dev.py: pytest collected no tests", file=sys.stderr)
        return 1
    return code


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in ("up", "test", "setup"):
        print(__doc__)
        return 2
    ensure_environment()
    command, rest = argv[0], argv[1:]
    if command == "test":
        return run_tests(rest)
    if command == "up":
        return subprocess.call([str(venv_bin("cchc")), "up", *rest], cwd=ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
