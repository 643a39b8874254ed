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

import json
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

from nats.aio.client import Client as NATS

from pyrage.x25519 import Identity, Recipient

from cchc.runtime import backup_crypto
from cchc.runtime.archive_store import file_sha256

CHUNK_BYTES = 128 * 1024
API_TIMEOUT_S = 30.0
MANIFEST = "manifest.json"
SNAPSHOT = "stream.snapshot"
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


class _PlainFile:
    """A snapshot file as it comes (``backup_crypto.EncryptingFile``'s shape)."""

    def __init__(self, path: Path) -> None:
        self._out = path.open("wb")

    async def write(self, data: bytes) -> None:
        self._out.write(data)

    async def close(self) -> None:
        self._out.flush()
        os.fsync(self._out.fileno())
        self._out.close()

    async def abort(self) -> None:
        self._out.close()


async def snapshot(nc: NATS, stream: str, folder: Path, to: Recipient | None = None) -> dict:
    """One stream into folder/<stream>/ (encrypted to ``to``, when given), on disk when this
    returns; returns the manifest's entry for it (its state at the snapshot, the snapshot
    file's name, size and SHA-256)."""
    target = folder / stream
    target.mkdir(parents=True, exist_ok=False)
    name = SNAPSHOT + (backup_crypto.SUFFIX if to is not None else "")
    inbox = nc.new_inbox()
    chunks = await nc.subscribe(inbox)
    out = _PlainFile(target / name) if to is None else backup_crypto.EncryptingFile(
        target / name, to)
    try:
        answer = await api(nc, f"$JS.API.STREAM.SNAPSHOT.{stream}", {
            "deliver_subject": inbox, "no_consumers": True, "chunk_size": CHUNK_BYTES,
            "jsck": False})
        while True:
            chunk = await chunks.next_msg(timeout=API_TIMEOUT_S)
            if not chunk.data:  # the end (a header-only message)
                break
            await out.write(chunk.data)
            if chunk.reply:  # flow control: the server waits for these
                await nc.publish(chunk.reply, b"")
        await out.close()
    except BaseException:
        await out.abort()
        raise
    finally:
        await chunks.unsubscribe()
    backup = {"config": answer["config"], "state": answer["state"]}
    write_durably(target / "backup.json", json.dumps(backup, indent=2))
    state = answer["state"]
    return {"name": stream, "messages": state["messages"], "last_seq": state["last_seq"],
            "file": name, "snapshot_bytes": (target / name).stat().st_size,
            "sha256": file_sha256(target / name)}


def write_durably(path: Path, text: str) -> None:
    """``text`` into ``path`` whole or not at all, on disk when this returns."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)


def snapshot_file(stream_folder: Path) -> Path:
    """The stream's snapshot: encrypted (``stream.snapshot.age``) or not."""
    encrypted = stream_folder / (SNAPSHOT + backup_crypto.SUFFIX)
    return encrypted if encrypted.exists() else stream_folder / SNAPSHOT


def checked_streams(folder: Path, no_manifest: bool = False,
                    identity: Identity | None = None) -> list[Path]:
    """The stream folders of the backup in ``folder``, once its manifest says the backup
    finished, every file matches it and ``identity`` opens what was encrypted; a
    ``BackupError`` naming what does not."""
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
        manifest = json.loads(manifest_path.read_text())
        listed, encrypted_to = manifest["streams"], manifest.get("encrypted_to")
        names = [entry["name"] for entry in listed]
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{manifest_path} cannot be read: {error}") from error
    if encrypted_to and identity is None:
        raise BackupError(f"the backup is encrypted to {encrypted_to}: give its identity "
                          "(--identity, the age key file kept offline)")
    if encrypted_to and backup_crypto.public_of(identity) != encrypted_to:
        raise BackupError(f"the identity given is not the one the backup is encrypted to "
                          f"({encrypted_to})")
    unlisted = sorted({p.name for p in found} - set(names))
    if unlisted:
        raise BackupError(f"{', '.join(unlisted)}: in the folder, not in its {MANIFEST}")
    for entry in listed:
        name = entry.get("file", SNAPSHOT)
        stored = folder / entry["name"] / name
        if not (folder / entry["name"] / "backup.json").exists() or not stored.exists():
            raise BackupError(f"{entry['name']}: listed in {MANIFEST}, missing from the folder")
        if (stored.stat().st_size != entry["snapshot_bytes"]
                or file_sha256(stored) != entry["sha256"]):
            raise BackupError(f"{entry['name']}: {name} does not match its SHA-256 in "
                              f"{MANIFEST} (damaged or changed since the backup)")
    return [folder / name for name in names]


async def _plain_chunks(path: Path, size: int) -> AsyncIterator[bytes]:
    with path.open("rb") as stored:
        while chunk := stored.read(size):
            yield chunk


async def restore_stream(nc: NATS, folder: Path, replicas: int | None,
                         identity: Identity | None = None) -> dict:
    backup = json.loads((folder / "backup.json").read_text())
    config = backup["config"]
    if replicas is not None:
        config["num_replicas"] = replicas
    answer = await api(nc, f"$JS.API.STREAM.RESTORE.{config['name']}",
                       {"config": config, "state": backup["state"]})
    deliver = answer["deliver_subject"]
    stored = snapshot_file(folder)
    if stored.name.endswith(backup_crypto.SUFFIX):
        if identity is None:
            raise BackupError(f"{folder.name}: {stored.name} is encrypted: give its identity")
        chunks = backup_crypto.decrypted_chunks(stored, identity, CHUNK_BYTES)
    else:
        chunks = _plain_chunks(stored, CHUNK_BYTES)
    try:
        async for chunk in chunks:
            acknowledged = await nc.request(deliver, chunk, timeout=API_TIMEOUT_S)
            if acknowledged.data:
                error = json.loads(acknowledged.data).get("error")
                if error:
                    raise BackupError(f"restore {config['name']}: {error}")
    except backup_crypto.BackupKeyError as error:
        raise BackupError(str(error)) from None
    done = json.loads((await nc.request(deliver, b"", timeout=300)).data)
    if "error" in done:
        raise BackupError(f"restore {config['name']}: {done['error']}")
    return done["state"]


async def create(nc: NATS, folder: Path, report: Callable[[str], None] = print,
                 to: Recipient | None = None) -> int:
    if (folder / MANIFEST).exists() or any(folder.glob("*/backup.json")):
        raise BackupError(f"{folder} holds a backup already: give each backup a folder of its own")
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    entries = []
    for stream in await stream_names(nc):
        entry = await snapshot(nc, stream, folder, to)
        entries.append(entry)
        report(f"{stream}: {entry['messages']} messages, last sequence {entry['last_seq']}")
    write_durably(folder / MANIFEST, json.dumps({
        "format": MANIFEST_FORMAT, "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "encrypted_to": str(to) if to is not None else None, "streams": entries}, indent=2))
    report(f"backup complete: {len(entries)} streams, {MANIFEST} written")
    return 0


async def restore(nc: NATS, folder: Path, replicas: int | None, no_manifest: bool = False,
                  report: Callable[[str], None] = print, identity: Identity | None = None,
                  ) -> int:
    return await restore_streams(nc, checked_streams(folder, no_manifest, identity), replicas,
                                 report, identity)


async def restore_streams(nc: NATS, streams: list[Path], replicas: int | None,
                          report: Callable[[str], None] = print,
                          identity: Identity | None = None) -> int:
    """The streams of ``checked_streams``, into a server that has none of them yet."""
    existing = set(await stream_names(nc))
    clashing = [s.name for s in streams if s.name in existing]
    if clashing:
        raise BackupError(f"these streams exist already: {', '.join(clashing)} (restore into an "
                          "installation where NATS runs and the services have not started)")
    for stream in streams:
        state = await restore_stream(nc, stream, replicas, identity)
        report(f"{stream.name}: {state['messages']} messages, last sequence {state['last_seq']}")
    return 0
