"""The embedded installation backs itself up (`cchc up`): the scheduled backup of
cchc.runtime.backup_job runs in its process as the `backup` NATS user, the public keyring goes
beside each backup, a restart does not take another before the interval is over, and what it
took restores into a new data folder and verifies there."""

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest

from api_client import Api
from conftest import start_stack, stop_stack
from test_signed_history import received_dossier
from cchc.cli.main import main
from cchc.cli.stack import DAY_S, embedded_backups
from cchc.runtime.backup_job import BackupSettings, due_in, folder_name
from cchc.runtime.backups import MANIFEST


def whole_backups(folder) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(p.parent.name for p in folder.glob(f"*/{MANIFEST}"))


async def until(condition, what: str, seconds: float = 60) -> None:  # type: ignore[no-untyped-def]
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, what
        await asyncio.sleep(0.1)


async def test_cchc_up_backs_up_on_its_own_and_what_it_took_restores(tmp_path, caplog, capsys):
    data, folder = tmp_path / "data", tmp_path / "backups"
    caplog.set_level(logging.INFO, logger="cchc.backup_job")
    often = BackupSettings(folder=folder, interval_s=1.5, keep=2, full_every=2)
    stack, task, base_url = await start_stack(data, backups=often)
    api = Api(base_url, stack.installation.jwt_secret())
    api.stack = stack  # type: ignore[attr-defined]
    try:
        await until(lambda: whole_backups(folder), "a backup at a fresh installation's start")
        received = folder_name(datetime.now(UTC) + timedelta(seconds=1))
        await received_dossier(api)
        await until(lambda: whole_backups(folder)[-1] > received, "a backup after the receipt")
        # Every other backup is full: the newest two are a full one and the one extending it
        # (and, once the next full one is taken, the newest two and the full one they need).
        await until(lambda: len(whole_backups(folder)) == 2 and len(
            list(folder.glob("2*"))) == 2, "pruned to the newest two", 30)
        health = (await api.as_("admin").get(f"{base_url}/health")).json()
        assert health["backups"]["healthy"], health
        assert health["projections"]["dossier"]["dossier-read"]["serving"].startswith(
            "dossier-read-v")
    finally:
        await api.close()
        await stop_stack(stack, task)
    # The newest differential one, restored with the full one beside it.
    newest = next(folder / name for name in reversed(whole_backups(folder))
                  if json.loads((folder / name / "manifest.json").read_text()).get("base"))
    assert (newest / "keyring.json").exists()
    assert "backup" in caplog.text and "Authorization" not in caplog.text

    # A restart within the interval takes none: the newest whole backup is recent.
    caplog.clear()
    before = whole_backups(folder)
    daily = BackupSettings(folder=folder, interval_s=DAY_S, keep=2)
    stack, task, _ = await start_stack(data, backups=daily)
    try:
        await until(lambda: "the next in" in caplog.text, "the restart's schedule")
        await asyncio.sleep(0.5)
        assert whole_backups(folder) == before
    finally:
        await stop_stack(stack, task)

    restored = tmp_path / "restored"
    assert await asyncio.to_thread(
        main, ["backup", "restore", str(newest), "--data-dir", str(restored)]) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["verify", "--data-dir", str(restored)]) == 0
    printed = capsys.readouterr().out
    assert "verified: no failure" in printed
    dossier_line = next(line for line in printed.splitlines() if line.startswith("DOSSIER:"))
    assert "no such stream" not in dossier_line


def test_the_next_backup_is_due_an_interval_after_the_newest_whole_one(tmp_path):
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
    assert due_in(tmp_path, DAY_S, now) == 0  # none yet: at once
    (tmp_path / folder_name(now - timedelta(hours=2))).mkdir()  # never finished: not counted
    assert due_in(tmp_path, DAY_S, now) == 0
    whole = tmp_path / folder_name(now - timedelta(hours=5))
    whole.mkdir()
    (whole / MANIFEST).write_text("{}")
    assert due_in(tmp_path, DAY_S, now) == 19 * 3600
    assert due_in(tmp_path, 3600, now) == 0  # an interval ago already
    assert due_in(tmp_path, DAY_S, now - timedelta(hours=6)) == 0  # the clock went back


def test_cchc_up_backs_up_daily_into_the_data_folder_unless_told_otherwise(
        tmp_path, monkeypatch):
    monkeypatch.delenv("CCHC_BACKUP_INTERVAL_S", raising=False)
    settings = embedded_backups(tmp_path / "backups")
    assert (settings.interval_s, settings.keep, settings.recipient) == (DAY_S, 7, None)
    assert settings.folder == (tmp_path / "backups").resolve()
    monkeypatch.setenv("CCHC_BACKUP_INTERVAL_S", "3600")
    monkeypatch.setenv("CCHC_BACKUP_KEEP", "14")
    settings = embedded_backups(tmp_path / "backups")
    assert (settings.interval_s, settings.keep) == (3600, 14)
    monkeypatch.setenv("CCHC_BACKUP_RECIPIENT", "age1-not-a-key")
    assert main(["up", "--data-dir", str(tmp_path / "data")]) == 2  # refused before starting
    assert not (tmp_path / "data").exists()


@pytest.fixture(autouse=True)
def _no_backup_settings_from_the_shell(monkeypatch):  # type: ignore[no-untyped-def]
    for name in ("INTERVAL_S", "KEEP", "RECIPIENT", "FOLDER"):
        monkeypatch.delenv(f"CCHC_BACKUP_{name}", raising=False)
