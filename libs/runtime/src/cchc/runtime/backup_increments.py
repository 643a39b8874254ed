"""One stream's part of a differential backup: the messages appended since the full backup it
extends, to a file and back (``cchc.runtime.backups`` says what a backup folder holds).

An event stream only grows, so between two full backups what changed is the messages after the
full one's last sequence. A differential backup keeps those, read by direct get, each with its
sequence, subject, headers and bytes as stored. Restoring it is restoring the full backup's
snapshot, then publishing those messages again in order: each must land at its own sequence,
with the headers it was stored with, so that positions (the projections' checkpoints, the signed
history's anchors) stay valid.

That holds only where the stream did nothing but grow: the same stream (made at the same
moment), the same configuration, and no message removed since the full backup (a KV bucket
keeping one revision per key, an archived year purged). ``extends`` says whether it did; a stream
that did anything else is snapshotted whole in the differential backup.

The file is gzip (``gunzip`` reads it, after ``age -d`` when encrypted) of a run of records: a
header of four big-endian integers (sequence, and the lengths of the subject, the headers as
JSON and the data), then those three.
"""

import json
import struct
import zlib
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

from nats.aio.client import Client as NATS
from nats.errors import Error as NatsError

from cchc.runtime.backup_files import BackupError, OutputFile
from cchc.runtime.stream_reader import StoredMessage, stored_messages

FILE = "messages.bin.gz"
RECORD = struct.Struct(">QIII")
WRITE_BYTES = 128 * 1024  # what goes to the file (and its encryptor) at once
GZIP = 31  # zlib's wbits for the gzip format
PUBLISH_TIMEOUT_S = 30.0
IN_FLIGHT = 256  # messages published again before their acknowledgements are awaited


class NotAppendOnly(Exception):
    """The stream lost a message after the full backup: it is snapshotted whole instead."""


def extends(base: dict[str, Any], base_config: dict[str, Any], now: dict[str, Any]) -> bool:
    """Whether the stream described by ``now`` (its ``STREAM.INFO`` answer) is the one of
    ``base`` (its entry in the full backup's manifest, and its configuration then) with messages
    appended and nothing else."""
    config, state = now["config"], now["state"]
    appended = state["last_seq"] - base["last_seq"]
    return (base.get("created") is not None and now.get("created") == base["created"]
            and _as_set(config) == _as_set(base_config) and appended >= 0
            # Every position up to the head holds its message: none gone since the base.
            and state["messages"] == base["messages"] + appended
            and config.get("allow_direct")  # read by direct get
            # Published again, a message would be transformed or sourced a second time.
            and not config.get("subject_transform") and not config.get("sources")
            and not config.get("mirror"))


def _as_set(config: dict[str, Any]) -> dict[str, Any]:
    """A stream's configuration as set, without the server's own metadata (``_nats.*``: its
    version, which a stream's info carries and its snapshot does not)."""
    metadata = {key: value for key, value in (config.get("metadata") or {}).items()
                if not key.startswith("_nats.")}
    return {**config, "metadata": metadata}


def encoded(message: StoredMessage) -> bytes:
    subject = message.subject.encode()
    headers = json.dumps(message.headers, separators=(",", ":")).encode()
    return b"".join((RECORD.pack(message.position, len(subject), len(headers), len(message.data)),
                     subject, headers, message.data))


async def decoded(chunks: AsyncIterator[bytes]) -> AsyncIterator[StoredMessage]:
    """The messages of an increment file's content, in order."""
    buffer, gzipped = bytearray(), zlib.decompressobj(GZIP)
    async for chunk in chunks:
        try:
            buffer += gzipped.decompress(chunk)
        except zlib.error as error:
            raise BackupError(f"the messages cannot be read: {error}") from None
        offset = 0
        while len(buffer) - offset >= RECORD.size:
            position, subject_len, headers_len, data_len = RECORD.unpack_from(buffer, offset)
            start = offset + RECORD.size
            end = start + subject_len + headers_len + data_len
            if end > len(buffer):
                break
            subject = bytes(buffer[start:start + subject_len]).decode()
            headers = json.loads(buffer[start + subject_len:start + subject_len + headers_len])
            yield StoredMessage(position, subject, headers,
                                bytes(buffer[end - data_len:end]))
            offset = end
        del buffer[:offset]
    if buffer or not gzipped.eof:
        raise BackupError("the messages end before their file does: cut short")


async def write_since(nc: NATS, stream: str, after: int, until: int, out: OutputFile) -> int:
    """The messages of ``stream`` at positions ``after`` + 1 to ``until`` into ``out``; how many.
    ``NotAppendOnly`` when one of those positions holds none."""
    written, pending, gzipping = after, bytearray(), zlib.compressobj(6, zlib.DEFLATED, GZIP)
    if until > after:
        async with aclosing(stored_messages(nc, stream, start=after + 1)) as messages:
            async for message in messages:
                if message.position != written + 1:
                    raise NotAppendOnly(f"{stream}: position {written + 1} holds no message")
                pending += gzipping.compress(encoded(message))
                written = message.position
                if len(pending) >= WRITE_BYTES:
                    await out.write(bytes(pending))
                    pending.clear()
                if written == until:
                    break
        if written != until:
            raise NotAppendOnly(f"{stream} ends at position {written}, before {until}")
    await out.write(bytes(pending + gzipping.flush()))
    return max(until - after, 0)


async def publish_again(nc: NATS, stream: str, messages: AsyncIterator[StoredMessage],
                        after: int) -> int:
    """Each of ``messages`` published again, in order, into ``stream`` whose last position is
    ``after``, each at the position it had; how many. Up to ``IN_FLIGHT`` go out before their
    acknowledgements are awaited: one connection keeps them in order, and each
    acknowledgement is checked for its position in turn."""
    acks = nc.new_inbox()
    answers = await nc.subscribe(acks)
    due, sent = after + 1, after

    async def acknowledged() -> None:
        nonlocal due
        try:
            answer = json.loads((await answers.next_msg(timeout=PUBLISH_TIMEOUT_S)).data)
        except (NatsError, ValueError) as error:
            raise BackupError(f"{stream}: position {due} was not acknowledged: {error}") from None
        if "error" in answer:
            raise BackupError(f"{stream}: position {due} was refused: "
                              f"{answer['error'].get('description', answer['error'])}")
        if (answer.get("stream"), answer.get("seq")) != (stream, due):
            raise BackupError(f"{stream}: position {due} went to {answer.get('stream')} at "
                              f"{answer.get('seq')}")
        due += 1

    try:
        async for message in messages:
            if message.position != sent + 1:
                raise BackupError(f"{stream}: the backup holds position {message.position} where "
                                  f"{sent + 1} was due")
            await nc.publish(message.subject, message.data, reply=acks,
                             headers=dict(message.headers) or None)
            sent += 1
            if sent - due >= IN_FLIGHT:
                await acknowledged()
        while due <= sent:
            await acknowledged()
    finally:
        await answers.unsubscribe()
    return sent - after
