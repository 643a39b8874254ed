"""contracts/ installs on its own, as another agency would: `pip install` of the folder into a
fresh virtual environment (no system site-packages, nothing of this repository but the folder)
brings pydantic and nothing else, and every event type decodes there."""

import json
import os
import shutil
import subprocess
import venv
from pathlib import Path

from cchc.contracts import known_event_types
from cchc.contracts.asyncapi import asyncapi_document

CONTRACTS = Path(__file__).resolve().parents[1]

PROBE = r"""
import importlib, importlib.metadata, json, pkgutil, sys

import cchc.contracts as contracts
from cchc.contracts.samples import SAMPLES, SAMPLE_OLD_VERSIONS

modules = [m.name for m in pkgutil.walk_packages(contracts.__path__, "cchc.contracts.")]
for name in modules:
    importlib.import_module(name)

decoded = []
for sample in SAMPLES + SAMPLE_OLD_VERSIONS:
    wire = sample.envelope().to_bytes()  # as it comes off NATS
    envelope = contracts.EventEnvelope.from_bytes(wire, position=7)
    event = contracts.decode_event(envelope.type, envelope.schema_version, envelope.payload)
    assert type(event).__name__ == sample.event_type
    assert envelope.compute_hash() == envelope.hash
    decoded.append([envelope.type, envelope.schema_version, type(event).schema_version])

try:
    import cchc.runtime
    runtime = "importable"
except ModuleNotFoundError:
    runtime = "absent"

print(json.dumps({
    "file": contracts.__file__,
    "modules": modules,
    "decoded": decoded,
    "types": contracts.known_event_types(),
    "runtime": runtime,
    "loaded": sorted({name.split(".")[0] for name in sys.modules}),
    "distributions": sorted(d.metadata["Name"].lower().replace("_", "-")
                            for d in importlib.metadata.distributions()),
}))
"""


def clean_env() -> dict[str, str]:
    """This process's environment without anything that points Python at this repository."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA"))}
    env["PATH"] = os.pathsep.join(
        p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    return env


def test_contracts_install_alone_with_pydantic_and_decode_every_event_type(tmp_path):
    # A copy of the folder, so that the build leaves nothing in the work tree.
    source = tmp_path / "contracts"
    shutil.copytree(CONTRACTS, source, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", "tests", "examples"))
    home = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False, clear=True).create(home)
    python = home / ("Scripts" if os.name == "nt" else "bin") / "python"
    env = clean_env()
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    str(source)], check=True, env=env, cwd=tmp_path, timeout=600,
                   capture_output=True)

    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    out = subprocess.run([str(python), "-I", str(probe)], check=True, env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=120).stdout
    found = json.loads(out)

    assert Path(found["file"]).is_relative_to(home), "imported from the fresh environment"
    assert found["runtime"] == "absent"
    assert {"nats", "fastapi", "sqlalchemy", "starlette"}.isdisjoint(found["loaded"])
    third_party = set(found["distributions"]) - {"pip", "setuptools", "cchc-contracts"}
    assert third_party <= {"pydantic", "pydantic-core", "annotated-types", "typing-extensions",
                           "typing-inspection"}, third_party
    assert not any(d.startswith("cchc-") and d != "cchc-contracts"
                   for d in found["distributions"])
    assert "cchc.contracts.asyncapi" in found["modules"]
    assert found["types"] == known_event_types()
    assert sorted({t for t, _, _ in found["decoded"]}) == known_event_types()
    assert ["DossierResolved", 1, 3] in found["decoded"], "the v1 resolution was upcast"
    assert ["DossierResolved", 2, 3] in found["decoded"], "the v2 resolution was upcast"

    # Its console script prints the same AsyncAPI document as this repository generates.
    script = home / ("Scripts" if os.name == "nt" else "bin") / "cchc-asyncapi"
    printed = subprocess.run([str(script)], check=True, env=env, cwd=tmp_path,
                             capture_output=True, timeout=120).stdout
    assert json.loads(printed.decode()) == asyncapi_document()
