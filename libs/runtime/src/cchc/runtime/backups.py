"""Backups: every JetStream stream of an installation (the event streams, the KV buckets, the
archive bucket) to a folder and back, online; ``cchc backup`` (as ops) and the scheduled backup job
(``cchc.runtime.backup_job``, its own NATS user) use it.

It speaks the server's own snapshot API, the one `nats stream backup` / `nats stream restore`
use (no `nats` CLI needed): ``$JS.API.STREAM.SNAPSHOT.<stream>`` streams the stream's files as
chunks to an inbox, each acknowledged; ``$JS.API.STREAM.RESTORE.<stream>`` gives a subject to
send them back to, and answers the last, empty chunk with the restored stream's info. A snapshot
is consistent per stream. Consumers are left out: each projection recreates its consumer from its
own checkpoint, and a fresh database replays the whole log.

A backup folder holds, per stream, ``<STREAM>/backup.json`` (configuration and state at the
snapshot) and ``<STREAM>/stream.snapshot``, and ``manifest.json``, written last, once every stream
is on disk: the streams, each snapshot's size and SHA-256. A folder without it is a backup that did
not finish (the process stopped, a snapshot failed) and is refused, as is one whose files do not
match it: before anything is restored, so a restore never brings back part of an installation
unknowingly. Folders of ``nats stream backup`` (or of a release before 2026-12-07) have no
manifest: ``--no-manifest`` restores the streams they hold, unchecked.

Restore into an installation where those streams do not exist yet (NATS up, the services not
started); ``--replicas`` sets the replicas of the restored streams when the cluster differs in
size.
"""

import hashlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client as NATS

from cchc.runtime.archive_store import file_sha256

CHUNK_BYTES = 128 * 1024
API_TIMEOUT_S = 30.0
MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


class BackupError(Exception):
    pass


async def api(nc: NATS, subject: str, body: dict, timeout: float = API_TIMEOUT_S) -> dict:
    answer = json.loads((await nc.request(subject, json.dumps(body).encode(), timeout=timeout)).data)
    if "error" in answer:
        raise BackupError(f"{subject}: {answer['error'].get('description', answer['error'])}")
    return answer


async def stream_names(nc: NATS) -> list[str]:
    names: list[str] = []
    while True:
        page = await api(nc, "$JS.API.STREAM.NAMES", {"offset": len(names)})
        names += page.get("streams") or []
        if not page.get("streams") or len(names) >= page.get("total", 0):
            return sorted(names)


async def snapshot(nc: NATS, stream: str, folder: Path) -> dict:
    """One stream into folder/<stream>/, on disk when this returns; returns the manifest's entry
    for it (its state at the snapshot, the snapshot's size and SHA-256)."""
    target = folder / stream
    target.mkdir(parents=True, exist_ok=False)
    inbox = nc.new_inbox()
    chunks = await nc.subscribe(inbox)
    try:
        answer = await api(nc, f"$JS.API.STREAM.SNAPSHOT.{stream}", {
            "deliver_subject": inbox, "no_consumers": True, "chunk_size": CHUNK_BYTES,
            "jsck": False})
        digest, size = hashlib.sha256(), 0
        with (target / "stream.snapshot").open("wb") as out:
            while True:
                chunk = await chunks.next_msg(timeout=API_TIMEOUT_S)
                if not chunk.data:  # the end (a header-only message)
                    break
                out.write(chunk.data)
                digest.update(chunk.data)
                size += len(chunk.data)
                if chunk.reply:  # flow control: the server waits for these
                    await nc.publish(chunk.reply, b"")
            out.flush()
            os.fsync(out.fileno())
    finally:
        await chunks.unsubscribe()
    backup = {"config": answer["config"], "state": answer["state"]}
    write_durably(target / "backup.json", json.dumps(backup, indent=2))
    state = answer["state"]
    return {"name": stream, "messages": state["messages"], "last_seq": state["last_seq"],
            "snapshot_bytes": size, "sha256": digest.hexdigest()}


def write_durably(path: Path, text: str) -> None:
    """``text`` into ``path`` whole or not at all, on disk when this returns."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


def checked_streams(folder: Path, no_manifest: bool = False) -> list[Path]:
    """The stream folders of the backup in ``folder``, once its manifest says the backup
    finished and every file matches it; a ``BackupError`` naming what does not."""
    found = sorted(p.parent for p in folder.glob("*/backup.json"))
    manifest_path = folder / MANIFEST
    if no_manifest:
        if not found:
            raise BackupError(f"no stream backed up in {folder}")
        return found
    if not manifest_path.exists():
        raise BackupError(
            f"{folder} has no {MANIFEST}: a backup that did not finish, or one of `nats stream "
            "backup` or of a release before 2026-12-07 (--no-manifest takes the streams it "
            "holds, unchecked)")
    try:
        listed = json.loads(manifest_path.read_text())["streams"]
        names = [entry["name"] for entry in listed]
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{manifest_path} cannot be read: {error}") from error
    unlisted = sorted({p.name for p in found} - set(names))
    if unlisted:
        raise BackupError(f"{', '.join(unlisted)}: in the folder, not in its {MANIFEST}")
    for entry in listed:
        snapshot_file = folder / entry["name"] / "stream.snapshot"
        if not (folder / entry["name"] / "backup.json").exists() or not snapshot_file.exists():
            raise BackupError(f"{entry['name']}: listed in {MANIFEST}, missing from the folder")
        if (snapshot_file.stat().st_size != entry["snapshot_bytes"]
                or file_sha256(snapshot_file) != entry["sha256"]):
            raise BackupError(f"{entry['name']}: stream.snapshot does not match its SHA-256 in "
                              f"{MANIFEST} (damaged or changed since the backup)")
    return [folder / name for name in names]


async def restore_stream(nc: NATS, folder: Path, replicas: int | None) -> dict:
    backup = json.loads((folder / "backup.json").read_text())
    config = backup["config"]
    if replicas is not None:
        config["num_replicas"] = replicas
    answer = await api(nc, f"$JS.API.STREAM.RESTORE.{config['name']}",
                       {"config": config, "state": backup["state"]})
    deliver = answer["deliver_subject"]
    with (folder / "stream.snapshot").open("rb") as snapshot_file:
        while chunk := snapshot_file.read(CHUNK_BYTES):
            acknowledged = await nc.request(deliver, chunk, timeout=API_TIMEOUT_S)
            if acknowledged.data:
                error = json.loads(acknowledged.data).get("error")
                if error:
                    raise BackupError(f"restore {config['name']}: {error}")
    done = json.loads((await nc.request(deliver, b"", timeout=300)).data)
    if "error" in done:
        raise BackupError(f"restore {config['name']}: {done['error']}")
    return done["state"]


async def create(nc: NATS, folder: Path, report: Callable[[str], None] = print) -> int:
    if (folder / MANIFEST).exists() or any(folder.glob("*/backup.json")):
        raise BackupError(f"{folder} holds a backup already: give each backup a folder of its own")
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    entries = []
    for stream in await stream_names(nc):
        entry = await snapshot(nc, stream, folder)
        entries.append(entry)
        report(f"{stream}: {entry['messages']} messages, last sequence {entry['last_seq']}")
    write_durably(folder / MANIFEST, json.dumps({
        "format": MANIFEST_FORMAT, "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(), "streams": entries}, indent=2))
    report(f"backup complete: {len(entries)} streams, {MANIFEST} written")
    return 0


async def restore(nc: NATS, folder: Path, replicas: int | None, no_manifest: bool = False,
                  report: Callable[[str], None] = print) -> int:
    return await restore_streams(nc, checked_streams(folder, no_manifest), replicas, report)


async def restore_streams(nc: NATS, streams: list[Path], replicas: int | None,
                          report: Callable[[str], None] = print) -> int:
    """The streams of ``checked_streams``, into a server that has none of them yet."""
    existing = set(await stream_names(nc))
    clashing = [s.name for s in streams if s.name in existing]
    if clashing:
        raise BackupError(f"these streams exist already: {', '.join(clashing)} (restore into an "
                          "installation where NATS runs and the services have not started)")
    for stream in streams:
        state = await restore_stream(nc, stream, replicas)
        report(f"{stream.name}: {state['messages']} messages, last sequence {state['last_seq']}")
    return 0
