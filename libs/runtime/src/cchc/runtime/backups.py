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

A differential backup (``create`` given the ``FullBackup`` it extends) keeps, of each stream that
did nothing but grow since that full backup, the messages after the full one's snapshot
(``<STREAM>/messages.bin.gz``, ``cchc.runtime.backup_increments``); any other stream it snapshots
whole. Its manifest names the full backup and that manifest's SHA-256; the two are kept side by
side, and a restore checks both, then restores each snapshot and publishes the messages since
again at their own positions.

Restore into an installation where those streams do not exist yet (NATS up, the services not
started); ``--replicas`` sets the replicas of the restored streams when the cluster differs in
size.
"""

import json
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nats.aio.client import Client as NATS

from pyrage.x25519 import Identity, Recipient

from cchc.runtime import backup_crypto, backup_increments
from cchc.runtime.archive_store import file_sha256
from cchc.runtime.backup_files import BackupError, chunks_of, open_output, write_durably
from cchc.runtime.backup_manifests import (
    MANIFEST, MANIFEST_FORMAT, SNAPSHOT, FullBackup, StreamToRestore, checked_streams,
    snapshot_file,
)

# What the commands and the job use of a backup, from here.
__all__ = ["MANIFEST", "BackupError", "FullBackup", "checked_streams", "create", "restore",
           "restore_streams"]

CHUNK_BYTES = 128 * 1024
API_TIMEOUT_S = 30.0


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


async def stream_info(nc: NATS, stream: str) -> dict[str, Any]:
    return await api(nc, f"$JS.API.STREAM.INFO.{stream}", {})


async def snapshot(nc: NATS, stream: str, folder: Path, to: Recipient | None = None) -> dict:
    """One stream into folder/<stream>/ (encrypted to ``to``, when given), on disk when this
    returns; returns the manifest's entry for it (its state at the snapshot, the snapshot
    file's name, size and SHA-256)."""
    created = (await stream_info(nc, stream)).get("created")
    target = folder / stream
    target.mkdir(parents=True, exist_ok=False)
    inbox = nc.new_inbox()
    chunks = await nc.subscribe(inbox)
    path, out = open_output(target, SNAPSHOT, to)
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
    return {"name": stream, "kind": "snapshot", "created": created,
            "messages": state["messages"], "last_seq": state["last_seq"],
            "file": path.name, "snapshot_bytes": path.stat().st_size,
            "sha256": file_sha256(path)}


async def increment(nc: NATS, stream: str, folder: Path, base: FullBackup,
                    to: Recipient | None = None) -> dict | None:
    """The messages ``stream`` gained since ``base`` into folder/<stream>/, on disk when this
    returns; its manifest entry, or None when the stream did more than grow since
    (``backup_increments.extends``): snapshot it whole instead."""
    since, info = base.entry(stream), await stream_info(nc, stream)
    if since is None or not backup_increments.extends(since, base.config(stream), info):
        return None
    target = folder / stream
    target.mkdir(parents=True, exist_ok=False)
    path, out = open_output(target, backup_increments.FILE, to)
    state = info["state"]
    try:
        await backup_increments.write_since(nc, stream, since["last_seq"], state["last_seq"], out)
        await out.close()
    except backup_increments.NotAppendOnly:
        await out.abort()
        shutil.rmtree(target)
        return None
    except BaseException:
        await out.abort()
        raise
    write_durably(target / "backup.json", json.dumps(
        {"config": info["config"], "state": state, "since_seq": since["last_seq"]}, indent=2))
    return {"name": stream, "kind": "increment", "created": info.get("created"),
            "messages": state["messages"], "last_seq": state["last_seq"],
            "since_seq": since["last_seq"], "file": path.name,
            "snapshot_bytes": path.stat().st_size, "sha256": file_sha256(path)}


async def restore_stream(nc: NATS, folder: Path, replicas: int | None,
                         identity: Identity | None = None) -> dict:
    backup = json.loads((folder / "backup.json").read_text())
    config = backup["config"]
    if replicas is not None:
        config["num_replicas"] = replicas
    answer = await api(nc, f"$JS.API.STREAM.RESTORE.{config['name']}",
                       {"config": config, "state": backup["state"]})
    deliver = answer["deliver_subject"]
    try:
        async for chunk in chunks_of(snapshot_file(folder), identity, CHUNK_BYTES):
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


async def restore_increment(nc: NATS, stream: StreamToRestore, restored: dict,
                            identity: Identity | None = None) -> dict:
    """The messages of ``stream.increment`` published again after its restored snapshot
    (state ``restored``); the stream's state after."""
    assert stream.increment is not None
    backup = json.loads((stream.increment / "backup.json").read_text())
    if restored["last_seq"] != backup["since_seq"]:
        raise BackupError(f"{stream.name}: the snapshot ends at {restored['last_seq']}, the "
                          f"messages since it start after {backup['since_seq']}")
    stored = next(p for p in stream.increment.iterdir() if p.name.startswith(
        backup_increments.FILE))
    try:
        await backup_increments.publish_again(
            nc, stream.name, backup_increments.decoded(chunks_of(stored, identity, CHUNK_BYTES)),
            after=restored["last_seq"])
    except backup_crypto.BackupKeyError as error:
        raise BackupError(str(error)) from None
    state = (await stream_info(nc, stream.name))["state"]
    wanted = backup["state"]
    if (state["messages"], state["last_seq"]) != (wanted["messages"], wanted["last_seq"]):
        raise BackupError(f"{stream.name}: restored {state['messages']} messages up to "
                          f"{state['last_seq']}, where the backup holds {wanted['messages']} "
                          f"up to {wanted['last_seq']}")
    return state


async def create(nc: NATS, folder: Path, report: Callable[[str], None] = print,
                 to: Recipient | None = None, base: FullBackup | None = None) -> int:
    """Every stream into ``folder``: whole (a full backup), or, given ``base``, what each gained
    since that full backup where it only grew (a differential backup)."""
    if (folder / MANIFEST).exists() or any(folder.glob("*/backup.json")):
        raise BackupError(f"{folder} holds a backup already: give each backup a folder of its own")
    if base is not None and base.encrypted_to != (str(to) if to is not None else None):
        # A restore opens both with one identity: a differential backup is encrypted as its
        # full one is, and a new key starts with a full backup.
        raise BackupError(f"{base.folder.name} is encrypted to {base.encrypted_to or 'no key'}, "
                          f"this backup would be to {to or 'no key'}: take a full one")
    folder.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    entries = []
    for stream in await stream_names(nc):
        entry = await increment(nc, stream, folder, base, to) if base is not None else None
        if entry is not None:
            report(f"{stream}: {entry['last_seq'] - entry['since_seq']} messages since "
                   f"{base.folder.name}, last sequence {entry['last_seq']}")
        else:
            entry = await snapshot(nc, stream, folder, to)
            report(f"{stream}: {entry['messages']} messages, last sequence {entry['last_seq']}")
        entries.append(entry)
    manifest: dict[str, Any] = {
        "format": MANIFEST_FORMAT, "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "encrypted_to": str(to) if to is not None else None, "streams": entries}
    if base is not None:
        manifest["base"] = {"name": base.folder.name,
                            "manifest_sha256": file_sha256(base.folder / MANIFEST)}
    write_durably(folder / MANIFEST, json.dumps(manifest, indent=2))
    kind = f"differential backup of {base.folder.name}" if base is not None else "backup"
    report(f"{kind} complete: {len(entries)} streams, {MANIFEST} written")
    return 0


async def restore(nc: NATS, folder: Path, replicas: int | None, no_manifest: bool = False,
                  report: Callable[[str], None] = print, identity: Identity | None = None,
                  ) -> int:
    return await restore_streams(nc, checked_streams(folder, no_manifest, identity), replicas,
                                 report, identity)


async def restore_streams(nc: NATS, streams: list[StreamToRestore], replicas: int | None,
                          report: Callable[[str], None] = print,
                          identity: Identity | None = None) -> int:
    """The streams of ``checked_streams``, into a server that has none of them yet."""
    existing = set(await stream_names(nc))
    clashing = [s.name for s in streams if s.name in existing]
    if clashing:
        raise BackupError(f"these streams exist already: {', '.join(clashing)} (restore into an "
                          "installation where NATS runs and the services have not started)")
    for stream in streams:
        state = await restore_stream(nc, stream.snapshot, replicas, identity)
        if stream.increment is not None:
            state = await restore_increment(nc, stream, state, identity)
        report(f"{stream.name}: {state['messages']} messages, last sequence {state['last_seq']}")
    return 0
