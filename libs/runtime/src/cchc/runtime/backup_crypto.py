"""Backups encrypted to an age recipient (https://age-encryption.org, through pyrage).

A backup holds every event, citizens' names among them, and is meant to be copied off the host.
So the scheduled backup encrypts each snapshot to a public key (``age1…``) while it streams in:
the job holds no key that can read what it wrote, nor does the storage the backups are copied
to. The private key (``AGE-SECRET-KEY-1…``) stays with the operators, offline, and is needed
only to restore or verify. The files are plain age files: ``age -d -i key.txt`` reads them too.

Nothing is ever on disk unencrypted: the chunks go through a pipe to age's encryptor in a
thread, and a restore decrypts through a pipe the same way.
"""

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import pyrage
from pyrage import x25519

SUFFIX = ".age"


class BackupKeyError(ValueError):
    """A recipient or identity that is not an age X25519 key."""


def recipient(text: str) -> x25519.Recipient:
    try:
        return x25519.Recipient.from_str(text.strip())
    except Exception as error:  # noqa: BLE001 - pyrage raises its own RecipientError
        raise BackupKeyError(f"not an age recipient (age1…): {error}") from None


def identity_from_file(path: Path) -> x25519.Identity:
    """The identity in an age key file (its comment lines skipped), as ``age-keygen`` writes."""
    try:
        lines = [line.strip() for line in path.read_text().splitlines()]
    except OSError as error:
        raise BackupKeyError(f"cannot read {path}: {error}") from None
    keys = [line for line in lines if line.startswith("AGE-SECRET-KEY-")]
    if len(keys) != 1:
        raise BackupKeyError(f"{path} holds {len(keys)} age identities (AGE-SECRET-KEY-1…), not one")
    try:
        return x25519.Identity.from_str(keys[0])
    except Exception as error:  # noqa: BLE001 - pyrage raises its own IdentityError
        raise BackupKeyError(f"{path}: not an age identity: {error}") from None


def public_of(identity: x25519.Identity) -> str:
    return str(identity.to_public())


def new_identity() -> tuple[str, str]:
    """A fresh key pair: (identity, recipient) as text."""
    identity = x25519.Identity.generate()
    return str(identity), public_of(identity)


class EncryptingFile:
    """``path`` written encrypted to ``to``, chunk by chunk: ``await write(data)``, then
    ``await close()`` (on disk, fsynced, when it returns)."""

    def __init__(self, path: Path, to: x25519.Recipient) -> None:
        read_end, write_end = os.pipe()
        self._source: BinaryIO = os.fdopen(read_end, "rb")
        self._pipe: BinaryIO = os.fdopen(write_end, "wb")
        self._out = path.open("wb")
        self._encrypting = asyncio.get_running_loop().run_in_executor(None, self._encrypt, to)

    def _encrypt(self, to: x25519.Recipient) -> None:
        try:
            pyrage.encrypt_io(self._source, self._out, [to])
        finally:
            # Failed (a full disk, say): the writer's next write breaks instead of waiting for
            # a reader that is gone.
            self._source.close()

    async def write(self, data: bytes) -> None:
        # A full pipe blocks until age has read: in a thread, the event loop goes on.
        try:
            await asyncio.to_thread(self._pipe.write, data)
        except (BrokenPipeError, ValueError):
            await self._encrypting  # the encryptor's own error, the cause
            raise

    async def close(self) -> None:
        try:
            self._pipe.close()  # the end of the plaintext: age writes its last chunk
            await self._encrypting
            self._out.flush()
            os.fsync(self._out.fileno())
        finally:
            self._source.close()
            self._out.close()

    async def abort(self) -> None:
        """Stop on a failure elsewhere: the encryptor ends, the file stays unfinished."""
        if not self._pipe.closed:
            self._pipe.close()
        try:
            await self._encrypting
        except Exception:  # noqa: BLE001 - the failure that matters is the caller's
            pass
        self._source.close()
        self._out.close()


async def decrypted_chunks(path: Path, identity: x25519.Identity,
                           size: int) -> AsyncIterator[bytes]:
    """The plaintext of the age file ``path``, ``size`` bytes at a time; a ``BackupKeyError`` when
    ``identity`` cannot open it."""
    read_end, write_end = os.pipe()
    plain: BinaryIO = os.fdopen(read_end, "rb")
    sink: BinaryIO = os.fdopen(write_end, "wb")

    def decrypt() -> None:
        try:
            with path.open("rb") as encrypted:
                pyrage.decrypt_io(encrypted, sink, [identity])
        finally:
            sink.close()

    decrypting = asyncio.get_running_loop().run_in_executor(None, decrypt)
    try:
        while chunk := await asyncio.to_thread(plain.read, size):
            yield chunk
        try:
            await decrypting
        except pyrage.DecryptError as error:
            raise BackupKeyError(f"{path.name}: cannot be decrypted: {error}") from None
    finally:
        plain.close()
        if not decrypting.done():
            await asyncio.gather(decrypting, return_exceptions=True)
