"""A replay's read of the log, in a process of its own, handed to the projection in batches.

Why: a projection far behind the log (a new version, a rebuild) is limited by one core, and
nats-py's parsing of each message — its header block above all: five headers per stored event,
each name checked character by character — was a fifth of a rebuild's time in the profile. Here
a child process reads and parses, the projection's process decodes and writes: the two stages of
the replay run on two cores at once.

Nothing about exactly-once changes: the child holds no state that matters. It reads from an
ephemeral consumer (no acknowledgements), and the projection's SQL checkpoint stays the only
truth; the runner checks every position against it as before. If the child dies, the feed ends
and the runner goes on from its checkpoint with its usual consumer.

Child: ``python -m cchc.runtime.replay_reader`` with its task as one JSON line on stdin: the
parent connection's user and password, and the CAs it trusts (``cchc.runtime.nats_tls``), never
on the command line, where ``ps`` shows them. It tries each server once: one it cannot reach, log
into or trust ends it at once, and the runner goes on with its consumer. A child that sends
nothing for ``STALLED_AFTER_S`` of the runner's waiting is given up the same way. It stops at
``last`` (the head of the log when the replay began) or when the consumer has nothing more.
On stdout, frames: a 4-byte big-endian length, then a ``marshal``-ed list of
``(position, subject, data, pending, restored)``; an empty list means the read is complete.
"""

import asyncio
import contextlib
import json
import logging
import marshal
import secrets
import struct
import sys
from dataclasses import asdict, dataclass, field
from typing import Any

import nats
from nats.aio.client import Client as NATS
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy

from cchc.runtime.nats_tls import ca_certificates, context_trusting
from cchc.runtime.pullfeed import Delivered, PullFeed

log = logging.getLogger("cchc.replay_reader")

_LENGTH = struct.Struct(">I")
STREAM_LIMIT = 2 * 1024 * 1024  # asyncio stops reading the pipe at twice this: the child waits


# The runner's waiting, summed, after which a child that sent nothing is given up: it reads only
# events already stored, a batch in well under a second.
STALLED_AFTER_S = 30.0
CONNECT_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class ReadTask:
    url: str
    inbox_prefix: str  # the parent connection's: a NATS user may subscribe under its own only
    stream: str
    subjects: str
    first: int  # the first position to read
    last: int  # the head of the log when the replay began: read up to here
    batch: int
    # The parent connection's login (nats-py keeps it apart from the URL) and the PEM of the CAs
    # it was told to trust (None: OpenSSL's defaults, SSL_CERT_FILE included, as inherited).
    user: str | None = None
    password: str | None = field(default=None, repr=False)  # never in a log line
    token: str | None = field(default=None, repr=False)
    ca_certificates: str | None = None
    # The name the server's certificate is checked against, where it is not the URL's host: a
    # node the parent learned from the cluster is dialled at its address, its certificate bears
    # the name the parent first connected to (nats-py's tls_name).
    tls_hostname: str | None = None

    @classmethod
    def of_connection(cls, nc: NATS, **task: Any) -> "ReadTask":
        """The task of a child reading as ``nc`` does: its server, login, inbox prefix and CAs."""
        assert nc.connected_url is not None
        return cls(url=nc.connected_url.geturl(),
                   inbox_prefix=nc.new_inbox().rsplit(".", 1)[0],
                   user=nc.options.get("user"), password=nc.options.get("password"),
                   token=nc.options.get("token"), ca_certificates=ca_certificates(nc),
                   tls_hostname=nc.options.get("tls_hostname") or getattr(
                       getattr(nc, "_current_server", None), "tls_name", None), **task)

    def connect_options(self) -> dict[str, Any]:
        """nats-py's options for the child's connection."""
        login = {name: value for name, value in (("user", self.user), ("password", self.password),
                                                 ("token", self.token)) if value is not None}
        tls = {"tls": context_trusting(self.ca_certificates)} if self.ca_certificates else {}
        name = {"tls_hostname": self.tls_hostname} if self.tls_hostname else {}
        return {**login, **tls, **name}


class ReplayFeed:
    """The batches a child process reads, with PullFeed's shape (start, take, acknowledge, stop).

    ``finished`` turns true once the child has read up to its ``last`` position (``complete``)
    or has ended otherwise: the runner then goes on with its durable consumer from its
    checkpoint."""


    def __init__(self, task: ReadTask) -> None:
        self.task = task
        self.batch = task.batch
        self.finished = False  # nothing more will come
        self.complete = False  # ... because the child read all it was asked to
        self._process: asyncio.subprocess.Process | None = None
        self._waited = 0.0  # the runner's waiting since the child last sent a batch

    async def start(self) -> None:
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cchc.runtime.replay_reader",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=STREAM_LIMIT,
        )
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(asdict(self.task)).encode() + b"\n")
        await self._process.stdin.drain()
        self._process.stdin.close()

    async def take(self, timeout: float) -> list[Delivered]:
        """The next batch the child read; empty if none came within ``timeout`` or the read is
        over (then ``finished``)."""
        if self.finished or self._process is None:
            return []
        stdout = self._process.stdout
        assert stdout is not None
        try:
            async with asyncio.timeout(timeout):  # not wait_for: see PullFeed.take
                header = await stdout.readexactly(_LENGTH.size)
            (size,) = _LENGTH.unpack(header)
            frame = marshal.loads(await stdout.readexactly(size))
        except TimeoutError:
            self._waited += timeout
            if self._waited >= STALLED_AFTER_S:
                log.warning("replay reader for %s sent nothing for %.0f s; going on with the "
                            "consumer", self.task.stream, self._waited)
                self.finished = True
                await self.stop()
            return []
        except asyncio.IncompleteReadError:
            log.warning("replay reader for %s ended early; going on with the consumer",
                        self.task.stream)
            self.finished = True
            return []
        self._waited = 0.0
        if not frame:
            self.finished = self.complete = True
            return []
        return [Delivered(position, subject, data, "", pending, restored)
                for position, subject, data, pending, restored in frame]

    def wake(self) -> None:
        """Nothing to wake: the child reads a log whose head it knows, so a take waits only for
        events already stored; a stopping runner applies the batch in hand and stops."""

    async def acknowledge(self, last: Delivered) -> None:
        """Nothing to acknowledge: the consumer is ephemeral, the SQL checkpoint is the truth."""

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        with contextlib.suppress(ProcessLookupError):  # it may have ended on its own
            process.kill()
        await process.wait()


async def _read(task: ReadTask, out) -> None:  # type: ignore[no-untyped-def]
    nc = await nats.connect(task.url, name="replay-reader", inbox_prefix=task.inbox_prefix,
                            allow_reconnect=False, connect_timeout=CONNECT_TIMEOUT_S,
                            **task.connect_options())
    try:
        js = nc.jetstream()
        # Named, so that it is created on $JS.API.CONSUMER.CREATE.<stream>.<name>, which the
        # services' users may use (deploy/nats/accounts.conf); gone 30 s after the read.
        consumer = await js.add_consumer(task.stream, ConsumerConfig(
            name=f"replay-{secrets.token_hex(8)}",
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=task.first,
            ack_policy=AckPolicy.NONE, filter_subject=task.subjects, inactive_threshold=30,
            mem_storage=True,
        ))
        feed = PullFeed(nc, task.stream, consumer.name, task.batch, expires_s=1.0)
        await feed.start()
        while True:
            batch = await feed.take(1.0)
            if batch:
                _write(out, [(m.position, m.subject, m.data, m.pending, m.restored)
                             for m in batch])
            if not batch or batch[-1].position >= task.last or batch[-1].pending == 0:
                break
        _write(out, [])
        await feed.stop()
    finally:
        await nc.close()


def _write(out, frame: list[tuple]) -> None:  # type: ignore[no-untyped-def]
    data = marshal.dumps(frame)
    out.write(_LENGTH.pack(len(data)))
    out.write(data)
    out.flush()


def main() -> None:
    task = ReadTask(**json.loads(sys.stdin.readline()))
    try:
        asyncio.run(_read(task, sys.stdout.buffer))
    except BrokenPipeError:  # the projection stopped listening: nothing left to do
        pass


if __name__ == "__main__":
    main()
