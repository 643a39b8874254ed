"""The scheduled backup: every stream of the installation into a folder of its own under
``CCHC_BACKUP_FOLDER``, named by its UTC time (``2026-12-07T011500Z``), then the oldest pruned so
that ``CCHC_BACKUP_KEEP`` whole backups remain (``cchc.runtime.backups`` says what a backup holds
and what makes one whole).

Every ``CCHC_BACKUP_FULL_EVERY``-th backup (7: a week of daily ones) is full; those between are
differential: what each stream gained since the newest full backup, which they name and which
a restore needs beside them. An event log only grows, so a differential backup is the days since
the full one, not the years before it. Before extending the full backup the job checks its files
against its manifest; should they no longer match, it takes a full backup instead. Pruning
keeps the full backup that any kept differential one extends.

Run alone: ``python -m cchc.runtime.backup_job`` (the images: ``CCHC_SERVICE=backup``), with
``CCHC_BACKUP_NATS_URL`` as the ``backup`` NATS user, who may list the streams and snapshot them
and nothing else (it cannot write an event, nor change or delete a stream). With
``CCHC_BACKUP_INTERVAL_S`` 0 (the default: a Kubernetes CronJob) it takes one backup and exits, 1
when the backup failed; otherwise one every interval, until SIGTERM (compose, which has no
scheduler; the embedded ``cchc up`` runs the same loop in its process). On an interval the next
backup is due an interval after the newest whole one: at once on a fresh installation, and a
restart does not take another (restarts would otherwise push the older backups out of the
``keep`` newest).

Pruning touches only folders named as this job names them. A backup that did not finish (no
manifest) is removed once a newer one finished; whole ones beyond the newest ``keep`` are removed.

A failed backup is tried again (``tries``, ``retry_after_s`` apart: a stream whose leader is
being elected answers again within seconds), and on an interval, the next round comes within
five minutes rather than a day. ``.status.json`` in the folder says how the last attempt went;
the container's health is read from it (``health``): a failed backup, one under way for longer
than an interval, or none whole for longer than an interval shows as unhealthy. The same record
goes to the KV bucket ``BACKUP_STATUS`` for the gateway's ``/health`` and the dashboard
(``cchc.runtime.backup_status``).
"""

import asyncio
import json
import logging
import re
import shutil
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from cchc.runtime import nats_credentials
from cchc.runtime import backup_crypto, backup_status
from cchc.runtime.backup_files import write_durably
from cchc.runtime.backups import MANIFEST, BackupError, FullBackup, create
from cchc.runtime.endpoints import close_connection, inbox_prefix
from cchc.runtime.nats_tls import CaFile
from cchc.runtime.setting_secrets import ConnectionUrl
from cchc.runtime.waiting import wait_at_most

log = logging.getLogger("cchc.backup_job")

USER = "backup"
STATUS = ".status.json"
FAILED_AGAIN_AFTER_S = 300.0  # on an interval, the next round after a failure
NAME_FORMAT = "%Y-%m-%dT%H%M%SZ"
_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{6}Z$")


class BackupSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CCHC_BACKUP_", hide_input_in_errors=True)

    nats_url: ConnectionUrl = "nats://127.0.0.1:4222"
    nats_tls_ca: CaFile = None  # the NATS servers' CA, trusted alone (cchc.runtime.nats_tls)
    folder: Path = Path("/var/lib/cchc-backups")
    keep: int = Field(default=7, ge=1, description="whole backups kept, the newest")
    full_every: int = Field(default=7, ge=1, description="every this many backups one is "
                            "full; the others hold what changed since it (1: all full)")
    interval_s: float = Field(default=0.0, ge=0, description="0: one backup, then exit")
    # The age public key (age1...) every snapshot is encrypted to (cchc.runtime.backup_crypto);
    # unset: backups in the clear, with a warning at each start.
    recipient: str | None = None
    tries: int = Field(default=3, ge=1, description="attempts before a backup counts as failed")
    retry_after_s: float = Field(default=10.0, ge=0)
    # Run once (a CronJob), how often the schedule runs it: the status says a backup is overdue
    # after this and an hour.
    expected_every_s: float = Field(default=86400.0, gt=0)
    # Of the bucket BACKUP_STATUS, as of the other buckets: 3 on a NATS cluster.
    status_replicas: int = Field(default=1, ge=1, le=5)

    @property
    def every_s(self) -> float:
        """How often a backup is due."""
        return self.interval_s or self.expected_every_s

    @field_validator("recipient")
    @classmethod
    def _an_age_recipient(cls, value: str | None) -> str | None:
        if value:
            backup_crypto.recipient(value)  # a BackupKeyError (a ValueError) names it
        return value or None


def folder_name(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(NAME_FORMAT)


def taken_at(name: str) -> datetime | None:
    """When the backup of folder ``name`` was taken, if the job named it."""
    return datetime.strptime(name, NAME_FORMAT).replace(tzinfo=UTC) if _NAME.match(name) else None


def due_in(root: Path, interval_s: float, now: datetime) -> float:
    """Seconds until the next backup is due: an interval after the newest whole one, at once
    when there is none (or the clock went back before it)."""
    whole = [moment for entry in root.iterdir()
             if entry.is_dir() and (moment := taken_at(entry.name)) and (entry / MANIFEST).exists()]
    if not whole:
        return 0.0
    wait = (max(whole) + timedelta(seconds=interval_s) - now).total_seconds()
    return wait if 0 < wait <= interval_s else 0.0


@dataclass(frozen=True)
class Taken:
    """A backup folder the job named: whether it is whole, and the full backup it extends
    when it is differential."""

    whole: bool
    base: str | None = None


def taken_backups(root: Path) -> dict[str, Taken]:
    """The backups under ``root`` that the job named, by folder name."""
    found = {}
    for entry in root.iterdir():
        if not entry.is_dir() or not _NAME.match(entry.name):
            continue
        try:
            manifest = json.loads((entry / MANIFEST).read_text())
        except (OSError, ValueError):  # not finished (no manifest), or damaged
            found[entry.name] = Taken(whole=False)
            continue
        found[entry.name] = Taken(whole=True, base=(manifest.get("base") or {}).get("name"))
    return found


def base_for(backups: dict[str, Taken], full_every: int) -> str | None:
    """The full backup the next one extends, or None when the next is full: there is none,
    or ``full_every`` - 1 differential backups extend the newest already."""
    fulls = sorted(name for name, taken in backups.items() if taken.whole and taken.base is None)
    if full_every <= 1 or not fulls:
        return None
    extending = [name for name, taken in backups.items() if taken.whole and taken.base == fulls[-1]]
    return fulls[-1] if len(extending) < full_every - 1 else None


def to_prune(backups: dict[str, bool], keep: int, bases: dict[str, str] | None = None,
             ) -> list[str]:
    """Which of ``backups`` (folder name -> whole) go: the whole ones beyond the newest
    ``keep`` but for the full backups a kept differential one extends (``bases``: differential
    -> full), and those that did not finish, older than the newest whole one."""
    names = sorted(name for name in backups if _NAME.match(name))
    whole = [name for name in names if backups[name]]
    kept = set(whole[-keep:])
    needed = {(bases or {}).get(name) for name in kept}
    newest_whole = whole[-1] if whole else None
    unfinished = [name for name in names
                  if not backups[name] and newest_whole is not None and name < newest_whole]
    return sorted([name for name in whole if name not in kept and name not in needed]
                  + unfinished)


def prune(root: Path, keep: int) -> list[str]:
    """Remove what ``to_prune`` names under ``root``; returns the names removed."""
    found = taken_backups(root)
    removed = to_prune({name: taken.whole for name, taken in found.items()}, keep,
                       {name: taken.base for name, taken in found.items() if taken.base})
    for name in removed:
        shutil.rmtree(root / name)
    return removed


def write_status(root: Path, state: str, now: datetime, **details: Any) -> dict[str, Any]:
    """How the last attempt went: ``running``, ``whole`` or ``failed``, and when; returns the
    record written."""
    status = {"state": state, "at": now.isoformat(), **details}
    write_durably(root / STATUS, json.dumps(status))
    return status


def health(root: Path, interval_s: float, now: datetime,
           grace_s: float = backup_status.GRACE_S) -> tuple[bool, str]:
    """The container's health from ``STATUS``, and why (``backup_status.health_of``); healthy
    before any attempt."""
    try:
        status = json.loads((root / STATUS).read_text())
    except FileNotFoundError:
        return True, "no backup started yet"
    except ValueError as error:
        return False, f"{STATUS} cannot be read: {error}"
    if not isinstance(status, dict):
        return False, f"{STATUS} cannot be read: not an object"
    return backup_status.health_of(status, interval_s, now, grace_s)


# What goes beside a whole backup once it is taken (the embedded installation's public keyring)
Beside = Callable[[Path], None]


async def back_up_once(settings: BackupSettings, moment: datetime | None = None,
                       beside: Beside | None = None) -> Path:
    """One backup into a new folder under ``settings.folder`` (differential when ``base_for``
    names a full backup whose files still match its manifest), then ``beside`` on it, then the
    pruning; a ``BackupError`` (or a NATS error) when the backup failed, its folder left
    unfinished."""
    target = settings.folder / folder_name(moment or datetime.now(UTC))
    to = backup_crypto.recipient(settings.recipient) if settings.recipient else None
    base = extended_backup(settings)
    nc = await nats_credentials.connect(settings.nats_url, settings.nats_tls_ca, name="cchc-backup", connect_timeout=10,
                            allow_reconnect=False, inbox_prefix=inbox_prefix(USER))
    try:
        await create(nc, target, report=lambda line: log.info("%s: %s", target.name, line),
                     to=to, base=base)
    finally:
        await close_connection(nc)
    if beside is not None:
        beside(target)
    removed = prune(settings.folder, settings.keep)
    if removed:
        log.info("pruned %s (keeping %d whole backups)", ", ".join(removed), settings.keep)
    return target


def extended_backup(settings: BackupSettings) -> FullBackup | None:
    """The full backup the next one extends, checked; None: the next is full."""
    name = base_for(taken_backups(settings.folder), settings.full_every)
    if name is None:
        return None
    try:
        full = FullBackup.checked(settings.folder / name)
    except BackupError as error:
        log.warning("the full backup %s cannot be extended (%s): taking a full one", name, error)
        return None
    to = str(backup_crypto.recipient(settings.recipient)) if settings.recipient else None
    if full.encrypted_to != to:  # a new key: a restore opens a backup and its full one with one
        log.info("the full backup %s is encrypted to %s, backups now to %s: taking a full one",
                 name, full.encrypted_to or "no key", to or "no key")
        return None
    return full


async def _record(settings: BackupSettings, state: str, **details: Any) -> None:
    """The attempt's state in ``STATUS`` and in the bucket ``BACKUP_STATUS``."""
    status = write_status(settings.folder, state, datetime.now(UTC), every_s=settings.every_s,
                          **details)
    try:
        nc = await nats_credentials.connect(settings.nats_url, settings.nats_tls_ca, name="cchc-backup", connect_timeout=10,
                                allow_reconnect=False, inbox_prefix=inbox_prefix(USER))
    except (OSError, TimeoutError, nats.errors.Error) as error:
        log.warning("the backup status was not published: %s: %s", type(error).__name__, error)
        return
    try:
        await backup_status.publish(nc, status, settings.status_replicas)
    finally:
        await close_connection(nc)


async def _attempt(settings: BackupSettings, beside: Beside | None = None) -> bool:
    """A backup, tried up to ``settings.tries`` times; its outcome in ``STATUS``."""
    await _record(settings, "running")
    for attempt in range(1, settings.tries + 1):
        try:
            target = await back_up_once(settings, beside=beside)
        except (BackupError, OSError, nats.errors.Error) as error:
            reason = f"{type(error).__name__}: {error}"
            if attempt < settings.tries:
                log.warning("backup failed (%s); trying again in %.0f s", reason,
                            settings.retry_after_s)
                await asyncio.sleep(settings.retry_after_s)
                continue
            log.error("backup failed after %d tries: %s", attempt, reason)
            await _record(settings, "failed", error=reason)
            return False
        base = taken_backups(settings.folder).get(target.name, Taken(True)).base
        log.info("backup %s is whole%s", target, f" (differential of {base})" if base else "")
        await _record(settings, "whole", backup=target.name, base=base)
        return True
    return False


async def run(settings: BackupSettings) -> int:
    """Once (exit code 1 when it failed), or every ``interval_s`` until SIGINT or SIGTERM."""
    if not settings.interval_s:
        prepare(settings)
        return 0 if await _attempt(settings) else 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await keep_backing_up(settings, stop)
    return 0


def prepare(settings: BackupSettings) -> None:
    settings.folder.mkdir(parents=True, exist_ok=True)
    if not settings.recipient:
        log.warning("backups are written unencrypted: they hold citizens' names; set "
                    "CCHC_BACKUP_RECIPIENT to an age public key (deploy/make_secrets.py makes one)")


async def keep_backing_up(settings: BackupSettings, stop: asyncio.Event,
                          beside: Beside | None = None) -> None:
    """A backup every ``settings.interval_s`` (the first due an interval after the newest whole
    one), until ``stop``; a backup under way finishes first."""
    prepare(settings)
    log.info("a backup every %.0f s into %s, keeping %d", settings.interval_s, settings.folder,
             settings.keep)
    wait = due_in(settings.folder, settings.interval_s, datetime.now(UTC))
    if wait:
        log.info("the newest whole backup is recent: the next in %.0f s", wait)
    while not await wait_at_most(stop.wait(), wait):
        whole = await _attempt(settings, beside)
        wait = settings.interval_s if whole else min(settings.interval_s, FAILED_AGAIN_AFTER_S)


def main() -> None:
    from cchc.runtime.observability import configure_logging

    configure_logging()
    sys.exit(asyncio.run(run(BackupSettings())))


if __name__ == "__main__":
    main()
