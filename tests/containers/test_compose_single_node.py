"""deploy/compose.yaml as shipped (one NATS node, PostgreSQL, the three services, the gateway), in
containers built by deploy/images/build.py, driven through its real REST API."""

import asyncio
import json
import time
from collections import Counter

import pytest
from api_steps import agency_with_procedure
from compose_deployment import (
    TIMINGS,
    Deployment,
    connect_as_ops,
    new_project,
    prepare,
    run_readme_block,
    wait_healthy,
)
from dossier_load import dossiers_found, late_entries, receive_dossiers
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
        "nats", "postgres", "dossier", "planning", "scoring", "gateway", "anchor", "backup"}
    assert all(c["Health"] == "healthy" for c in containers), containers
    for service in ("dossier", "planning", "scoring", "gateway", "anchor", "backup"):
        uid = deployment.docker_compose("exec", "-T", service, "id", "-u").stdout.strip()
        assert uid == "10001", service


def whole_backups(deployment: Deployment) -> list[str]:
    listed = deployment.docker_compose(
        "exec", "-T", "backup", "sh", "-c", "ls /var/lib/cchc-backups/*/manifest.json")
    return sorted(line.split("/")[-2] for line in listed.stdout.split())


async def test_the_scheduled_backup_takes_whole_backups_that_restore_and_verify(
        deployment: Deployment, api, tmp_path, capsys):  # type: ignore[no-untyped-def]
    """The compose service `backup`, as its own NATS user, into its volume: one at start, none
    more when it is started again within the day (the next is due a day after the newest), and
    the gateway's /health says how the last one went. A backup taken at once by the same job
    (`exec`, as an operator would before an upgrade) comes out with `docker compose cp`
    (deploy/README.md) and `cchc verify --backup` restores it into a scratch server and checks
    every chain and signature in it."""
    from cchc.cli.main import main

    agency, procedure = await agency_with_procedure(api.admin)
    await receive_dossiers(late_entries(api), procedure, 10)
    at_start = whole_backups(deployment)
    assert len(at_start) == 1, at_start
    health = (await api.admin.get("/health")).json()
    assert health["backups"]["healthy"], health  # the job's record, read from NATS
    deployment.docker_compose("restart", "backup")
    deadline = time.monotonic() + 60
    while "the next in" not in deployment.docker_compose("logs", "backup").stdout:
        assert time.monotonic() < deadline, deployment.docker_compose("logs", "backup").stdout
        await asyncio.sleep(0.5)
    assert whole_backups(deployment) == at_start
    once = deployment.docker_compose("exec", "-T", "-e", "CCHC_BACKUP_INTERVAL_S=0", "backup",
                                     "python", "-m", "cchc.runtime.backup_job")
    assert once.returncode == 0, once.stderr
    taken = whole_backups(deployment)
    assert len(taken) == 2, taken
    newest = taken[-1]
    # The volume's folder as a whole (deploy/README.md): the newest backup is differential and
    # restores only beside the full one it extends.
    copied = deployment.docker_compose("cp", "backup:/var/lib/cchc-backups", str(tmp_path / "all"))
    assert copied.returncode == 0, copied.stderr
    manifest = json.loads((tmp_path / "all" / newest / "manifest.json").read_text())
    assert manifest["base"]["name"] == taken[0]
    keyring = tmp_path / "keyring.json"
    keyring.write_text(deployment.env["CCHC_GATEWAY_AUDIT_KEYRING"])
    capsys.readouterr()
    # Encrypted to make_secrets.py's key: DOSSIER's messages since the full backup, or its
    # snapshot when the full one was taken before the dossier service made the stream.
    dossier = next(e for e in manifest["streams"] if e["name"] == "DOSSIER")
    assert dossier["file"] == {"increment": "messages.bin.gz.age",
                               "snapshot": "stream.snapshot.age"}[dossier["kind"]]
    assert await asyncio.to_thread(
        main, ["verify", "--backup", str(tmp_path / "all" / newest), "--keyring", str(keyring),
               "--identity", str(deployment.folder / "backup-identity.txt"),
               "--scratch-dir", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    dossier_line = next(line for line in printed.splitlines() if line.startswith("DOSSIER:"))
    assert int(dossier_line.split()[1]) >= 10 and "verified: no failure" in printed


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
    tally = await receive_dossiers(late_entries(api), procedure, 300, concurrency=8)
    assert not tally.failed and len(tally.acknowledged) == 300
    found = await dossiers_found(officer, agency, tally.last_position)
    assert Counter(found).most_common(1)[0][1] == 1  # none twice
    assert set(found) == tally.acknowledged
    stats = (await officer.get("/api/v1/dossier-stats", params={
        "agency": agency, "from": "2022-01-01", "to": "2022-12-31"},
        headers={"X-Min-Position": str(tally.last_position)})).json()
    assert stats["received"]["total"] == 300


async def agency_reports(api) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    """Every registered agency's report of 2022 as of 1/6/2023, by agency code."""
    codes, cursor = [], None
    while True:
        page = (await api.admin.get("/api/v1/agencies", params={
            "limit": 500, **({"cursor": cursor} if cursor else {})})).json()
        codes += [item["code"] for item in page["items"]]
        if not (cursor := page.get("next_cursor")):
            break
    inspector = api.as_("inspector")
    reports = {}
    for code in codes:
        answer = await inspector.get("/api/v1/reports/agency", params={
            "agency": code, "year": 2022, "as_of": "2023-06-01"})
        # While the projections rebuild an answer may be a 503 (Retry-After): kept as it is,
        # so that the comparison goes on until it is the report.
        # The report names the newest signed anchor when it is made: the fresh deployment's
        # anchor signer signs rounds of its own, so that line is not part of the comparison.
        reports[code] = ({k: v for k, v in answer.json().items() if k != "anchor"}
                         if answer.status_code == 200 else
                         {"status": answer.status_code, "body": answer.text[:300]})
    return reports


def first_difference(before: dict, after: dict) -> str:
    for code in sorted(set(before) | set(after)):
        if before.get(code) != after.get(code):
            return f"{code}: before {before.get(code)}\nafter {after.get(code)}"
    return ""


async def stream_states(deployment: Deployment) -> dict[str, tuple[int, int]]:
    nc = await connect_as_ops(deployment)
    try:
        js = nc.jetstream()
        return {s.config.name: (s.state.messages, s.state.last_seq)
                for s in await js.streams_info()}
    finally:
        await nc.close()


async def test_the_rebuild_drill_replays_the_dossier_read_models_into_the_same_reports(  # type: ignore[no-untyped-def]
        deployment: Deployment, api):
    """deploy/README.md's rebuild block: the dossier service stopped, its image run with the
    argument `rebuild` (its settings, NATS user and CA), started again; every agency's report
    the same as before."""
    _, procedure = await agency_with_procedure(api.admin)  # data even when run alone
    await receive_dossiers(late_entries(api), procedure, 5)
    before = await agency_reports(api)
    started = time.monotonic()
    out = await asyncio.to_thread(run_readme_block, "rebuild", deployment)
    assert "dossier-read-v4: replayed to position" in out, out
    assert "dossier-alerts-v1: replayed to position" in out, out
    wait_healthy(deployment.base_url)
    TIMINGS.append(("drill: rebuild the dossier read models (README block)",
                    time.monotonic() - started))
    deadline = time.monotonic() + 60
    while (after := await agency_reports(api)) != before:
        assert time.monotonic() < deadline, first_difference(before, after)
        await asyncio.sleep(1)


async def test_backup_and_restore_drill_gives_the_same_reports(  # type: ignore[no-untyped-def]
        deployment: Deployment, api, tmp_path_factory):
    """deploy/README.md's backup block on the running deployment, its restore block into a fresh
    one: the same streams, and every agency's report identical as JSON once rebuilt."""
    agency, procedure = await agency_with_procedure(api.admin)  # data even when run alone
    await receive_dossiers(late_entries(api), procedure, 20)
    before = await agency_reports(api)
    assert all("status" not in report for report in before.values()), before
    states = await stream_states(deployment)
    assert {"DOSSIER", "PLANNING", "SCORING", "KV_IDEMPOTENCY"} <= set(states)

    backup_dir = tmp_path_factory.mktemp("backup") / "2026-11-29"
    started = time.monotonic()
    await asyncio.to_thread(run_readme_block, "backup", deployment, BACKUP_DIR=str(backup_dir))
    assert (backup_dir / "DOSSIER" / "stream.snapshot.age").exists()  # encrypted
    TIMINGS.append(("drill: backup (README block)", time.monotonic() - started))

    folder = tmp_path_factory.mktemp("restored") / "deploy"
    fresh = Deployment(folder, ["compose.yaml"], prepare(folder, new_project("restored")))
    try:
        started = time.monotonic()
        await asyncio.to_thread(
            run_readme_block, "restore", fresh, BACKUP_DIR=str(backup_dir),
            BACKUP_IDENTITY=str(deployment.folder / "backup-identity.txt"))
        wait_healthy(fresh.base_url)
        TIMINGS.append(("drill: restore + compose up (README block)", time.monotonic() - started))
        restored = await stream_states(fresh)
        # The fresh deployment's anchor signer may sign its first round on top of the restored
        # anchors, and its backup job records its own first backup; every other stream comes
        # back exactly as it was.
        anchors, restored_anchors = states.pop("ANCHORS", (0, 0)), restored.pop("ANCHORS", (0, 0))
        status, restored_status = (states.pop("KV_BACKUP_STATUS", (0, 0)),
                                   restored.pop("KV_BACKUP_STATUS", (0, 0)))
        assert restored == states
        assert restored_anchors[1] >= anchors[1] and restored_status[1] >= status[1]

        restored = fresh.api()
        try:
            started = time.monotonic()
            deadline = started + 180
            while (after := await agency_reports(restored)) != before:
                assert time.monotonic() < deadline, (
                    "reports differ after 180 s of rebuilding: " + first_difference(before, after))
                await asyncio.sleep(2)
            TIMINGS.append(("drill: projections rebuilt, reports equal", time.monotonic() - started))
            assert json.dumps(after, sort_keys=True) == json.dumps(before, sort_keys=True)
        finally:
            await restored.close()
    finally:
        fresh.down()
