"""What a backup folder holds, and whether it is whole: its manifest, the files it lists, and,
for a differential backup, the full backup beside it that it extends (``cchc.runtime.backups``
says what a folder holds, and takes and restores them)."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyrage.x25519 import Identity

from cchc.runtime import backup_crypto
from cchc.runtime.archive_store import file_sha256
from cchc.runtime.backup_files import BackupError

MANIFEST = "manifest.json"
SNAPSHOT = "stream.snapshot"
MANIFEST_FORMAT = 2  # 2: each stream's kind and creation; differential backups


def snapshot_file(stream_folder: Path) -> Path:
    """The stream's snapshot: encrypted (``stream.snapshot.age``) or not."""
    encrypted = stream_folder / (SNAPSHOT + backup_crypto.SUFFIX)
    return encrypted if encrypted.exists() else stream_folder / SNAPSHOT


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the backup in ``folder`` (a ``BackupError`` when it has none, or it
    cannot be read)."""
    path = folder / MANIFEST
    if not path.exists():
        raise BackupError(
            f"{folder} has no {MANIFEST}: a backup that did not finish, or one of `nats stream "
            "backup` or of a release before 2026-12-07 (--no-manifest takes the streams it "
            "holds, unchecked)")
    try:
        manifest = json.loads(path.read_text())
        [entry["name"] for entry in manifest["streams"]]  # noqa: B018 - its shape, checked
    except (ValueError, KeyError, TypeError) as error:
        raise BackupError(f"{path} cannot be read: {error}") from error
    return manifest


@dataclass(frozen=True)
class FullBackup:
    """A whole full backup, checked, that a differential one extends."""

    folder: Path
    manifest: dict[str, Any]

    @classmethod
    def checked(cls, folder: Path, identity: Identity | None = None,
                open_files: bool = False) -> "FullBackup":
        """The full backup in ``folder`` once every file matches its manifest (and, with
        ``open_files``, ``identity`` opens what is encrypted)."""
        manifest = read_manifest(folder)
        if manifest.get("base"):
            raise BackupError(f"{folder.name} is a differential backup, not a full one")
        if manifest.get("format", 1) < MANIFEST_FORMAT:
            raise BackupError(f"{folder.name} is of a release before differential backups")
        _check_files(folder, manifest, identity, open_files)
        return cls(folder, manifest)

    @property
    def encrypted_to(self) -> str | None:
        return self.manifest.get("encrypted_to")

    def entry(self, stream: str) -> dict[str, Any] | None:
        return next((e for e in self.manifest["streams"] if e["name"] == stream), None)

    def config(self, stream: str) -> dict[str, Any]:
        return json.loads((self.folder / stream / "backup.json").read_text())["config"]


@dataclass(frozen=True)
class StreamToRestore:
    """A stream of a backup: its snapshot's folder, and the folder of the messages it gained
    after the snapshot (a differential backup's), if any."""

    name: str
    snapshot: Path
    increment: Path | None = None


def checked_streams(folder: Path, no_manifest: bool = False,
                    identity: Identity | None = None) -> list[StreamToRestore]:
    """The streams of the backup in ``folder``, once its manifest says the backup finished,
    every file matches it and ``identity`` opens what was encrypted, and, for a differential
    backup, the same of the full one it extends; a ``BackupError`` naming what does not."""
    found = sorted(p.parent for p in folder.glob("*/backup.json"))
    if no_manifest:
        if not found:
            raise BackupError(f"no stream backed up in {folder}")
        unsnapshotted = [p.name for p in found if not snapshot_file(p).exists()]
        if unsnapshotted:
            raise BackupError(f"{', '.join(unsnapshotted)}: no snapshot (a differential "
                              "backup's messages since a full one): restore it with its manifest")
        return [StreamToRestore(p.name, p) for p in found]
    manifest = read_manifest(folder)
    unlisted = sorted({p.name for p in found} - {e["name"] for e in manifest["streams"]})
    if unlisted:
        raise BackupError(f"{', '.join(unlisted)}: in the folder, not in its {MANIFEST}")
    _check_files(folder, manifest, identity, open_files=True)
    base = _base_of(folder, manifest, identity)
    streams = []
    for entry in manifest["streams"]:
        name = entry["name"]
        if entry.get("kind", "snapshot") == "snapshot":
            streams.append(StreamToRestore(name, folder / name))
            continue
        since = base.entry(name) if base is not None else None
        if since is None or since["last_seq"] != entry["since_seq"]:
            raise BackupError(f"{name}: its messages since position {entry['since_seq']} "
                              f"extend no snapshot of the full backup")
        streams.append(StreamToRestore(name, base.folder / name, folder / name))
    return streams


def _base_of(folder: Path, manifest: dict[str, Any],
             identity: Identity | None) -> FullBackup | None:
    """The full backup a differential one extends, checked: the folder beside it named in its
    manifest, whose manifest is the one it was taken against."""
    base = manifest.get("base")
    if not base:
        return None
    beside = folder.parent / base["name"]
    if not (beside / MANIFEST).exists():
        raise BackupError(f"{folder.name} is a differential backup of {base['name']}, which is "
                          f"not beside it in {folder.parent}: restore needs both")
    if file_sha256(beside / MANIFEST) != base["manifest_sha256"]:
        raise BackupError(f"{base['name']}/{MANIFEST} is not the one {folder.name} was taken "
                          "against")
    try:
        return FullBackup.checked(beside, identity, open_files=True)
    except BackupError as error:
        raise BackupError(f"the full backup {base['name']} it extends: {error}") from error


def _check_files(folder: Path, manifest: dict[str, Any], identity: Identity | None,
                 open_files: bool) -> None:
    encrypted_to = manifest.get("encrypted_to")
    if open_files and encrypted_to and identity is None:
        raise BackupError(f"the backup is encrypted to {encrypted_to}: give its identity "
                          "(--identity, the age key file kept offline)")
    if open_files and encrypted_to and backup_crypto.public_of(identity) != encrypted_to:
        raise BackupError(f"the identity given is not the one the backup is encrypted to "
                          f"({encrypted_to})")
    for entry in manifest["streams"]:
        name = entry.get("file", SNAPSHOT)
        stored = folder / entry["name"] / name
        if not (folder / entry["name"] / "backup.json").exists() or not stored.exists():
            raise BackupError(f"{entry['name']}: listed in {MANIFEST}, missing from the folder")
        if (stored.stat().st_size != entry["snapshot_bytes"]
                or file_sha256(stored) != entry["sha256"]):
            raise BackupError(f"{entry['name']}: {name} does not match its SHA-256 in "
                              f"{MANIFEST} (damaged or changed since the backup)")
