"""deploy/compose.yaml, deploy/k8s and deploy/docker: valid, consistent with the services' settings.

Kubernetes: each overlay is rendered by `kubectl kustomize` (skipped where kubectl is absent) and
every resource is validated against the Kubernetes 1.30 OpenAPI schemas (kubernetes-validate,
strict: unknown fields are errors). Compose has no schema package here: its structure is checked
(services, health checks, depends_on conditions, every variable named in the env example), and
every CCHC_* variable given to a service must be a field of that service's settings class.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from cchc.dossier.config import DossierSettings
from cchc.gateway.config import GatewaySettings
from cchc.planning.config import PlanningSettings
from cchc.scoring.config import ScoringSettings
from cchc.runtime.natsserver import find_binary
from pydantic_settings import BaseSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SETTINGS: dict[str, type[BaseSettings]] = {
    "dossier": DossierSettings, "planning": PlanningSettings, "scoring": ScoringSettings,
    "gateway": GatewaySettings,
}
KUBERNETES_VERSION = "1.30.0"


def settings_variables(service: str) -> set[str]:
    return {f"CCHC_{service.upper()}_{name.upper()}" for name in SETTINGS[service].model_fields}


def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


# --- compose ---------------------------------------------------------------------------------

def test_compose_runs_nats_postgres_the_services_and_the_gateway():
    services = compose()["services"]
    assert {"nats", "postgres", "dossier", "planning", "scoring", "gateway"} <= set(services)
    assert services["postgres"]["image"].startswith("postgres:16")
    for name, service in services.items():
        assert "healthcheck" in service or name in SETTINGS, f"{name} has no health check"


def test_compose_services_wait_for_healthy_dependencies():
    services = compose()["services"]
    for name in SETTINGS:
        depends = services[name]["depends_on"]
        assert "nats" in depends, name
        for dependency, condition in depends.items():
            assert dependency in services, (name, dependency)
            assert condition["condition"] == "service_healthy", (name, dependency)


def test_compose_gives_each_service_only_settings_it_has():
    services = compose()["services"]
    for name in SETTINGS:
        given = {k for k in services[name]["environment"] if k.startswith(f"CCHC_{name.upper()}_")}
        assert given, name
        assert given <= settings_variables(name), given - settings_variables(name)
        assert f"CCHC_{name.upper()}_NATS_URL" in given
    assert "CCHC_GATEWAY_JWT_SECRET" in services["gateway"]["environment"]


def test_compose_files_and_variables_exist():
    text = (DEPLOY / "compose.yaml").read_text()
    document = compose()
    for config in document["configs"].values():
        if "file" in config:
            assert (DEPLOY / config["file"]).is_file(), config
    example = (DEPLOY / "compose.env.example").read_text()
    import re

    for variable in set(re.findall(r"\$\{(\w+)", text)):
        assert f"{variable}=" in example, f"{variable} missing from compose.env.example"


# --- images ----------------------------------------------------------------------------------

def test_the_image_is_small_non_root_and_checks_its_health():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and "python:3.11-slim" in dockerfile
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "-c requirements.lock" in dockerfile
    assert os.access(DEPLOY / "docker" / "run-service", os.X_OK)


def test_the_probe_reports_an_unreachable_service_as_not_ready(tmp_path):
    env = {**os.environ, "CCHC_DOSSIER_NATS_URL": "nats://127.0.0.1:9"}
    import sys

    probe = subprocess.run([sys.executable, str(DEPLOY / "docker" / "probe.py"), "dossier"],
                           env=env, capture_output=True, timeout=30)
    assert probe.returncode == 1, probe.stderr


# --- kubernetes ------------------------------------------------------------------------------

def test_the_k8s_nats_configs_are_the_deploy_nats_ones():
    for name in ("nats-server.conf", "accounts.conf", "tls.conf"):
        copy = DEPLOY / "k8s" / "base" / "nats" / name
        assert copy.read_text() == (DEPLOY / "nats" / name).read_text(), f"{copy} drifted"


def test_the_k8s_cluster_config_is_valid_for_nats_server(tmp_path, deploy_tls):
    # The certificate paths point at certificates from deploy/tls/make_certs.py (nats-server -t
    # loads them); everything else is the config as shipped.
    certs = deploy_tls.make_certs(tmp_path / "certs")
    for name in ("cluster.conf", "nats-server.conf", "accounts.conf", "tls.conf"):
        text = (DEPLOY / "k8s" / "base" / "nats" / name).read_text()
        if "/etc/nats-tls/" in text:
            text = deploy_tls.with_cert_paths(text, certs)
        (tmp_path / name).write_text(text)
    env = {**os.environ, "POD_NAME": "nats-0", "CCHC_NATS_ROUTE_PASSWORD": "x"}
    for index in range(3):
        env[f"NATS_ROUTE_{index}"] = f"nats-route://route:x@nats-{index}.nats-cluster:6222"
    for user in ("DOSSIER", "PLANNING", "SCORING", "GATEWAY", "OPS", "AGENCY_STTTT",
                 "AGENCY_SNV", "SYS"):
        env[f"CCHC_NATS_{user}_PASSWORD"] = "x"
    checked = subprocess.run([find_binary(), "-t", "-c", str(tmp_path / "cluster.conf")],
                             capture_output=True, text=True, env=env, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "sync_interval: always" in (tmp_path / "nats-server.conf").read_text()


def render(overlay: str) -> list[dict]:
    """The overlay as `kubectl kustomize` renders it. The dev overlay reads untracked env files:
    they are generated by deploy/make_secrets.py into a copy of deploy/k8s, never the tree."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.skip("kubectl (with its built-in kustomize) is not installed")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "deploy"
        shutil.copytree(DEPLOY / "k8s", copy / "k8s",
                        ignore=shutil.ignore_patterns("*.env"))  # not an operator's own files
        made = subprocess.run([sys.executable, str(DEPLOY / "make_secrets.py"), "--deploy-dir",
                               str(copy), "--only", "k8s-dev"], capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        out = subprocess.run([kubectl, "kustomize", str(copy / "k8s" / "overlays" / overlay)],
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def is_cert_manager(resource: dict) -> bool:
    return resource["apiVersion"].startswith("cert-manager.io/")


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_each_overlay_renders_to_resources_valid_for_kubernetes(overlay):
    resources = render(overlay)
    for resource in resources:
        if is_cert_manager(resource):  # a CRD: no schema here; tls tests check their shape
            assert resource["kind"] in {"Issuer", "Certificate"}, resource
            continue
        kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
    kinds = {(r["kind"], r["metadata"]["name"]) for r in resources}
    assert {("StatefulSet", "nats"), ("Deployment", "dossier"), ("Deployment", "planning"),
            ("Deployment", "scoring"), ("Deployment", "gateway")} <= kinds


def test_production_scales_the_services_and_runs_three_nats_nodes():
    resources = {(r["kind"], r["metadata"]["name"]): r for r in render("production")}
    assert resources[("StatefulSet", "nats")]["spec"]["replicas"] == 3
    for name in SETTINGS:
        deployment = resources[("Deployment", name)]
        assert deployment["spec"]["replicas"] >= 2, name
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"] and container["livenessProbe"], name
        assert container["resources"]["requests"] and container["resources"]["limits"], name
        given = {e["name"] for e in container.get("env", [])} - {"SSL_CERT_FILE"}
        assert given <= settings_variables(name), given - settings_variables(name)
        secret = container["envFrom"][0]["secretRef"]["name"]
        assert secret == f"cchc-{name}"
    for name in ("dossier", "planning", "scoring"):
        env = resources[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": f"CCHC_{name.upper()}_STREAM_REPLICAS", "value": "3"} in env


def test_dev_secrets_hold_only_settings_the_services_have():
    for resource in render("dev"):
        if resource["kind"] != "Secret":
            continue
        service = resource["metadata"]["name"].removeprefix("cchc-").rsplit("-", 1)[0]
        if service in SETTINGS:
            assert set(resource["data"]) <= settings_variables(service), resource["metadata"]
