"""A backup's files, written and read back chunk by chunk: in the clear, or encrypted to an age
recipient (``cchc.runtime.backup_crypto``) when the backup has one."""

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Protocol

from pyrage.x25519 import Identity, Recipient

from cchc.runtime import backup_crypto


class BackupError(Exception):
    """A backup that cannot be taken, checked or restored, and why."""


class OutputFile(Protocol):
    async def write(self, data: bytes) -> None: ...
    async def close(self) -> None: ...  # on disk, fsynced, when it returns
    async def abort(self) -> None: ...  # the file stays unfinished


class PlainFile:
    """A file as it comes (``backup_crypto.EncryptingFile``'s shape)."""

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


def stored_name(name: str, to: Recipient | None) -> str:
    """The file's name as stored: ``name``, or ``name.age`` when encrypted."""
    return name + (backup_crypto.SUFFIX if to is not None else "")


def open_output(folder: Path, name: str, to: Recipient | None) -> tuple[Path, OutputFile]:
    """The file ``name`` in ``folder`` to write, encrypted to ``to`` when given; its path as
    stored and the file."""
    path = folder / stored_name(name, to)
    return path, (PlainFile(path) if to is None else backup_crypto.EncryptingFile(path, to))


def is_encrypted(path: Path) -> bool:
    return path.name.endswith(backup_crypto.SUFFIX)


async def _plain_chunks(path: Path, size: int) -> AsyncIterator[bytes]:
    with path.open("rb") as stored:
        while chunk := stored.read(size):
            yield chunk


def chunks_of(path: Path, identity: Identity | None, size: int) -> AsyncIterator[bytes]:
    """What ``path`` holds, ``size`` bytes at a time, decrypted when it is an age file (a
    ``BackupKeyError`` when ``identity`` is missing or cannot open it)."""
    if not is_encrypted(path):
        return _plain_chunks(path, size)
    if identity is None:
        raise backup_crypto.BackupKeyError(f"{path.parent.name}: {path.name} is encrypted: give "
                                           "its identity")
    return backup_crypto.decrypted_chunks(path, identity, size)


def write_durably(path: Path, text: str) -> None:
    """``text`` into ``path`` whole or not at all, on disk when this returns."""
    partial = path.with_name(path.name + ".partial")
    with partial.open("w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    partial.replace(path)
