"""deploy/compose.yaml as shipped (one NATS node, PostgreSQL, the three services, the gateway), in
containers built by deploy/images/build.py, driven through its real REST API."""

import json
import subprocess
from collections import Counter

import pytest

from api_steps import agency_with_procedure
from compose_deployment import TIMINGS, Deployment, new_project, prepare
from dossier_load import dossiers_found, receive_dossiers
from test_real_case_report import test_the_department_report_of_15_july_2022 as report_case

pytestmark = pytest.mark.containers


@pytest.fixture(scope="module")
def deployment(built_images, tmp_path_factory):  # type: ignore[no-untyped-def]
    folder = tmp_path_factory.mktemp("single") / "deploy"
    deployment = Deployment(folder, ["compose.yaml"], prepare(folder, new_project("single")))
    try:
        TIMINGS.append(("single node: compose up --wait, gateway healthy", deployment.up()))
        yield deployment
    finally:
        deployment.down()


@pytest.fixture(scope="module")
async def api(deployment: Deployment):  # type: ignore[no-untyped-def]
    client = deployment.api()
    yield client
    await client.close()


def test_every_container_is_healthy_and_no_service_runs_as_root(deployment: Deployment):
    listed = deployment.docker_compose("ps", "--format", "json").stdout
    containers = [json.loads(line) for line in listed.splitlines() if line.strip()]
    assert {c["Service"] for c in containers} == {
        "nats", "postgres", "dossier", "planning", "scoring", "gateway"}
    assert all(c["Health"] == "healthy" for c in containers), containers
    for service in ("dossier", "planning", "scoring", "gateway"):
        uid = deployment.docker_compose("exec", "-T", service, "id", "-u").stdout.strip()
        assert uid == "10001", service


def test_each_service_logs_in_to_postgres_with_its_own_role(deployment: Deployment):
    listed = deployment.docker_compose(
        "exec", "-T", "postgres", "psql", "-U", "postgres", "-At", "-c",
        "SELECT datname || ':' || usename FROM pg_stat_activity WHERE datname LIKE 'cchc_%'")
    pairs = set(listed.stdout.split())
    assert pairs >= {"cchc_dossier:cchc_dossier", "cchc_planning:cchc_planning",
                     "cchc_scoring:cchc_scoring"}, listed.stdout + listed.stderr


async def test_the_department_report_of_15_july_2022_in_containers(api):  # type: ignore[no-untyped-def]
    await report_case(api)


async def test_three_hundred_dossiers_are_each_found_once(api):  # type: ignore[no-untyped-def]
    agency, procedure = await agency_with_procedure(api.admin)
    officer = api.as_("officer", agency)
    tally = await receive_dossiers(officer, procedure, 300, concurrency=8)
    assert not tally.failed and len(tally.acknowledged) == 300
    found = await dossiers_found(officer, agency, tally.last_position)
    assert Counter(found).most_common(1)[0][1] == 1  # none twice
    assert set(found) == tally.acknowledged
    stats = (await officer.get("/api/v1/dossier-stats", params={
        "agency": agency, "from": "2022-01-01", "to": "2022-12-31"},
        headers={"X-Min-Position": str(tally.last_position)})).json()
    assert stats["received"]["total"] == 300
