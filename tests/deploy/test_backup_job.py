"""The scheduled backup (cchc.runtime.backup_job) as deployed: its own NATS user of
deploy/nats/accounts.conf, over TLS, on a real nats-server. It backs up every stream, whole (a
manifest), that backup restores event for event, and the user can change nothing. Run as its
process, once (a CronJob: exit 0, or 1 when it failed) and on an interval (compose: the newest
``keep`` whole backups remain, SIGTERM stops it)."""

import asyncio
import json
import os
import signal
import sys
import time
from datetime import UTC, datetime, timedelta

import nats
import pytest
from pyrage import x25519

from cchc.runtime.backup_job import STATUS, BackupSettings, back_up_once, health, to_prune
from cchc.runtime.backup_crypto import new_identity
from cchc.runtime.backups import MANIFEST, restore
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.streams import ensure_event_stream

EVENTS = 120


@pytest.fixture
async def dossier_events(connect) -> int:
    """Events in DOSSIER, appended by the dossier service's user; the stream's last sequence."""
    dossier = await connect("dossier")
    js = dossier.nc.jetstream()
    await ensure_event_stream(js, "dossier")
    for n in range(EVENTS):
        await js.publish(f"cchc.dossier.STTTT.b{n % 9}", f"event {n}".encode())
    return (await js.stream_info("DOSSIER")).state.last_seq


async def restored_dossier(backup, identity, store_dir) -> tuple[int, bytes]:
    """Restore ``backup`` into a fresh nats-server: DOSSIER's last position and last event."""
    target = NatsServer(store_dir=store_dir).start()
    try:
        nc = await nats.connect(target.url)
        try:
            assert await restore(nc, backup, None, report=lambda line: None,
                                 identity=identity) == 0
            js = nc.jetstream()
            last_seq = (await js.stream_info("DOSSIER")).state.last_seq
            return last_seq, (await js.get_msg("DOSSIER", last_seq)).data
        finally:
            await nc.close()
    finally:
        target.stop()


async def test_the_backup_user_backs_up_every_stream_whole_then_what_it_gained_and_both_restore(
    secured_nats, nats_user_url, deployed_ca, connect, dossier_events, tmp_path,
):
    secret, public = new_identity()
    settings = BackupSettings(nats_url=nats_user_url(secured_nats, "backup"), nats_tls_ca=deployed_ca,
                              folder=tmp_path / "backups", keep=3, recipient=public)
    settings.folder.mkdir()
    taken = await back_up_once(settings, datetime(2026, 12, 7, 1, 0, tzinfo=UTC))
    assert taken.name == "2026-12-07T010000Z"
    manifest = json.loads((taken / MANIFEST).read_text())
    listed = {entry["name"]: entry for entry in manifest["streams"]}
    assert listed["DOSSIER"]["last_seq"] == dossier_events
    assert manifest["encrypted_to"] == public
    assert listed["DOSSIER"]["file"] == "stream.snapshot.age"

    last_seq, last = await restored_dossier(taken, x25519.Identity.from_str(secret),
                                            tmp_path / "restored")
    assert (last_seq, last) == (dossier_events, f"event {EVENTS - 1}".encode())

    # The next day's backup holds what DOSSIER gained since, read as the same user.
    dossier = (await connect("dossier")).nc.jetstream()
    for n in range(EVENTS, EVENTS + 30):
        await dossier.publish(f"cchc.dossier.STTTT.b{n % 9}", f"event {n}".encode())
    later = await back_up_once(settings, datetime(2026, 12, 8, 1, 0, tzinfo=UTC))
    manifest = json.loads((later / MANIFEST).read_text())
    assert manifest["base"]["name"] == taken.name
    listed = {entry["name"]: entry for entry in manifest["streams"]}
    assert listed["DOSSIER"]["kind"] == "increment"
    assert (listed["DOSSIER"]["since_seq"], listed["DOSSIER"]["last_seq"]) == (
        dossier_events, dossier_events + 30)
    last_seq, last = await restored_dossier(later, x25519.Identity.from_str(secret),
                                            tmp_path / "restored-later")
    assert (last_seq, last) == (dossier_events + 30, f"event {EVENTS + 29}".encode())


async def test_the_backup_user_can_change_nothing(connect, dossier_events):
    backup = await connect("backup")
    await backup.nc.publish("cchc.dossier.STTTT.forged", b"{}")
    assert await backup.violation("cchc.dossier.STTTT.forged"), backup.errors
    for api in ("STREAM.DELETE.DOSSIER", "STREAM.PURGE.DOSSIER", "STREAM.UPDATE.DOSSIER",
                "STREAM.RESTORE.DOSSIER", "STREAM.MSG.DELETE.DOSSIER",
                "CONSUMER.CREATE.DOSSIER"):
        await backup.nc.publish(f"$JS.API.{api}", b"{}")
        assert await backup.violation(f"$JS.API.{api}"), (api, backup.errors)
    await backup.nc.subscribe("cchc.>")
    assert await backup.violation("cchc.>"), backup.errors
    # Its one write: the record of its last backup, under its one key.
    for subject in ("$KV.BACKUP_STATUS.other", "$KV.IDEMPOTENCY.x", "$KV.REVOCATIONS.x",
                    "$JS.API.STREAM.DELETE.KV_BACKUP_STATUS",
                    "$JS.API.STREAM.PURGE.KV_BACKUP_STATUS"):
        await backup.nc.publish(subject, b"{}")
        assert await backup.violation(subject), (subject, backup.errors)


async def test_the_job_tells_the_gateway_how_its_last_backup_went(
    secured_nats, nats_user_url, deployed_ca, connect, dossier_events, tmp_path, monkeypatch,
):
    """The job's record goes to the bucket BACKUP_STATUS, which the gateway's user reads (GET
    /health, the dashboard): whole, then failed with the reason."""
    from cchc.runtime import backup_job, backup_status

    settings = BackupSettings(nats_url=nats_user_url(secured_nats, "backup"), nats_tls_ca=deployed_ca,
                              folder=tmp_path / "backups", retry_after_s=0, tries=1)
    settings.folder.mkdir()
    gateway = (await connect("gateway")).nc.jetstream()
    assert await backup_status.read(gateway) is None  # no job has reported yet
    assert await backup_job._attempt(settings)
    whole = await backup_status.read(gateway)
    assert whole is not None and whole["state"] == "whole" and whole["every_s"] == 86400
    assert whole == json.loads((settings.folder / STATUS).read_text())

    # A backup that fails while NATS works: its folder's name is taken by a file.
    monkeypatch.setattr(backup_job, "folder_name", lambda moment: "2026-12-07T010000Z")
    (settings.folder / "2026-12-07T010000Z").write_text("")
    assert not await backup_job._attempt(settings)
    failed = await backup_status.read(gateway)
    assert failed is not None and failed["state"] == "failed" and failed["error"], failed
    healthy, why = backup_status.health_of(failed, failed["every_s"], datetime.now(UTC))
    assert not healthy and "the last backup failed" in why


def job_environment(url: str, folder, ca, **settings: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    environment = {name: value for name, value in os.environ.items() if name != "SSL_CERT_FILE"}
    return {**environment, "CCHC_BACKUP_NATS_TLS_CA": str(ca), "CCHC_BACKUP_NATS_URL": url,
            "CCHC_BACKUP_FOLDER": str(folder),
            **{f"CCHC_BACKUP_{name.upper()}": value for name, value in settings.items()}}


async def test_the_job_process_once_as_a_cronjob_runs_it(
    secured_nats, nats_user_url, nats_certs, dossier_events, tmp_path,
):
    folder = tmp_path / "backups"
    good = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cchc.runtime.backup_job",
        env=job_environment(nats_user_url(secured_nats, "backup"), folder, nats_certs / "ca.crt"),
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(good.communicate(), 60)
    assert good.returncode == 0, err.decode()
    [taken] = list(folder.glob("2*"))
    assert (taken / MANIFEST).exists() and "is whole" in err.decode()

    wrong = nats_user_url(secured_nats, "backup").replace("test-backup-secret", "wrong")
    assert health(folder, 0, datetime.now(UTC)) == (
        True, f"whole since {json.loads((folder / STATUS).read_text())['at']}")
    failing = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cchc.runtime.backup_job",
        env=job_environment(wrong, folder, nats_certs / "ca.crt", retry_after_s="0.2"),
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(failing.communicate(), 60)
    assert failing.returncode == 1  # the Job fails: Kubernetes keeps it, monitoring sees it
    assert "backup failed after 3 tries" in err.decode() and "wrong" not in err.decode()
    assert sorted(p.name for p in folder.iterdir()) == sorted([taken.name, STATUS])
    healthy, why = health(folder, 86400, datetime.now(UTC))
    assert not healthy and "the last backup failed" in why and "uthorization" in why


async def test_the_job_on_an_interval_keeps_the_newest_whole_backups_until_stopped(
    secured_nats, nats_user_url, nats_certs, dossier_events, tmp_path,
):
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "2020-01-01T000000Z").mkdir()  # a backup that never finished, long ago
    (folder / "notes").mkdir()  # not the job's: never touched
    job = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cchc.runtime.backup_job",
        env=job_environment(nats_user_url(secured_nats, "backup"), folder,
                            nats_certs / "ca.crt", interval_s="1.1", keep="2",
                            full_every="2"),
        stderr=asyncio.subprocess.PIPE)
    seen: set[str] = set()
    try:
        deadline = time.monotonic() + 60
        while len(seen) < 4:  # four backups taken: the first two pruned on the way
            seen |= {p.parent.name for p in folder.glob(f"*/{MANIFEST}")}
            assert time.monotonic() < deadline, sorted(seen)
            await asyncio.sleep(0.1)
    finally:
        job.send_signal(signal.SIGTERM)  # a backup under way finishes first
        _, err = await asyncio.wait_for(job.communicate(), 60)
    names = sorted(p.name for p in folder.iterdir())
    whole = [name for name in names if (folder / name / MANIFEST).exists()]
    # Every other backup is full, the one between extends it: the two newest remain, and the
    # full one the older of them extends when the job took a fifth before it stopped.
    bases = {name: json.loads((folder / name / MANIFEST).read_text()).get("base")
             for name in whole}
    newest = whole[-2:]
    assert set(whole) == {*newest, *(bases[n]["name"] for n in newest if bases[n])}, names
    assert any(bases[n] for n in newest) and set(names) == {*whole, "notes", STATUS}, names
    assert sorted(seen)[0] not in whole and sorted(seen)[1] not in whole  # the oldest two went
    assert job.returncode == 0, err.decode()
    assert err.decode().count("is whole") >= 4 and "pruned 2020-01-01T000000Z" in err.decode()


def test_a_recipient_that_is_not_an_age_key_is_refused_naming_it():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="recipient"):
        BackupSettings(recipient="age1-not-a-key")


def test_pruning_keeps_the_newest_whole_backups_and_unfinished_ones_not_yet_superseded():
    backups = {"2026-12-01T010000Z": True, "2026-12-02T010000Z": False,
               "2026-12-03T010000Z": True, "2026-12-04T010000Z": True,
               "2026-12-05T010000Z": False, "lost+found": False}
    assert to_prune(backups, keep=2) == ["2026-12-01T010000Z", "2026-12-02T010000Z"]
    assert to_prune(backups, keep=5) == ["2026-12-02T010000Z"]
    assert to_prune({"2026-12-05T010000Z": False}, keep=1) == []  # nothing whole yet: keep it


def test_the_health_is_how_the_last_backup_went(tmp_path):
    from cchc.runtime.backup_job import write_status

    now = datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    assert health(tmp_path, 86400, now) == (True, "no backup started yet")
    write_status(tmp_path, "running", now)
    assert health(tmp_path, 86400, now + timedelta(hours=2))[0]
    assert not health(tmp_path, 86400, now + timedelta(hours=25, minutes=1))[0]  # stuck
    write_status(tmp_path, "whole", now, backup="2026-12-07T010000Z")
    assert health(tmp_path, 86400, now + timedelta(hours=25))[0]
    assert health(tmp_path, 86400, now + timedelta(hours=25, minutes=1)) == (
        False, "the last backup whole is from 2026-12-07T01:00:00+00:00")
    write_status(tmp_path, "failed", now, error="TimeoutError: nats: timeout")
    assert health(tmp_path, 86400, now) == (
        False, "the last backup failed at 2026-12-07T01:00:00+00:00: TimeoutError: nats: timeout")
    (tmp_path / STATUS).write_text("{")
    assert not health(tmp_path, 86400, now)[0]
