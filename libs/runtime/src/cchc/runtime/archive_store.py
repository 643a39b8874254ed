"""Archived years of a context's log: their form, where they are kept, and how a replay reads
them back in log order.

An archive holds one closed year's finished aggregates of one context, taken out of the
context's stream (nats-server keeps memory for every subject a stream holds, for ever) into the
installation's object store bucket ``CCHC_ARCHIVE``: on the same servers' disks, replicated like
the streams, and a handful of subjects whatever its size. Each archive is two objects:

- ``<context>/<year>/<generation>/events.jsonl.gz``: one JSON line per event, in log order,
  ``{"position": 1234, "subject": "cchc.dossier.S01.<id>", "data": "<the stored envelope>"}``;
  the positions are the events' own stream sequences, so a replay merges the archive with what
  stays in the stream and applies every event at its own place;
- ``<context>/<year>/<generation>/manifest.json``: what it holds and how to check it
  (:class:`ArchiveManifest`).

A year archived again after a restore gets the next generation; its events are only those the
earlier generations do not hold.
"""

import gzip
import hashlib
import heapq
import json
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO

from nats.aio.client import Client as NATS
from nats.js.api import ObjectStoreConfig, StorageType
from nats.js.errors import BucketNotFoundError, NotFoundError, ObjectNotFoundError
from pydantic import BaseModel, Field

BUCKET = "CCHC_ARCHIVE"
EVENTS = "events.jsonl.gz"
MANIFEST = "manifest.json"
GENESIS = "0" * 64


class ArchiveManifest(BaseModel):
    """What an archive holds, and the digests an inspector can check it (and the log) by."""

    context: str
    year: int = Field(description="the year whose finished aggregates it holds")
    generation: int = Field(ge=1)
    created_at: datetime
    created_by: str
    events: int
    aggregates: int
    first_position: int
    last_position: int
    sha256: str = Field(description="of the events object, byte for byte")
    segment_hash: str = Field(
        description="hash chain over (position, subject, data) of every event in order: one "
        "digest an inspector can write down and check a copy of the archive against")
    heads_hash: str = Field(
        description="sha256 of the sorted lines '<aggregate id> <version> <head hash>': the "
        "end of every archived aggregate's own chain, as it was when it left the stream")
    restored_at: datetime | None = None

    @property
    def prefix(self) -> str:
        return archive_prefix(self.context, self.year, self.generation)


@dataclass(frozen=True, slots=True)
class ArchivedEvent:
    position: int
    subject: str
    data: bytes


def archive_prefix(context: str, year: int, generation: int) -> str:
    return f"{context}/{year}/{generation}"


def segment_step(previous: str, event: ArchivedEvent) -> str:
    """One link of an archive's segment hash."""
    digest = hashlib.sha256(previous.encode())
    digest.update(f"{event.position} {event.subject} ".encode())
    digest.update(event.data)
    return digest.hexdigest()


def heads_hash(heads: Iterable[tuple[str, int, str]]) -> str:
    """Of (aggregate id, version, head hash) for every archived aggregate."""
    digest = hashlib.sha256()
    for aggregate_id, version, head in sorted(heads):
        digest.update(f"{aggregate_id} {version} {head}\n".encode())
    return digest.hexdigest()


def write_lines(events: Iterable[ArchivedEvent], into: IO[bytes]) -> None:
    """The events object: gzip'd JSON lines (written with a fixed mtime: the same events make
    the same bytes)."""
    with gzip.GzipFile(fileobj=into, mode="wb", mtime=0) as out:
        for event in events:
            line = {"position": event.position, "subject": event.subject,
                    "data": event.data.decode()}
            out.write(json.dumps(line, ensure_ascii=False).encode() + b"\n")


def read_lines(source: IO[bytes]) -> Iterator[ArchivedEvent]:
    with gzip.GzipFile(fileobj=source, mode="rb") as lines:
        for line in lines:
            item = json.loads(line)
            yield ArchivedEvent(item["position"], item["subject"], item["data"].encode())


def file_sha256(path: Path) -> str:
    with path.open("rb") as source:
        return hashlib.file_digest(source, "sha256").hexdigest()


class ArchiveShelf:
    """The archives of an installation, in its object store bucket."""

    def __init__(self, nc: NATS, replicas: int = 1) -> None:
        self._js = nc.jetstream(timeout=30)
        self._replicas = replicas

    async def _bucket(self, create: bool = False):  # type: ignore[no-untyped-def]
        try:
            return await self._js.object_store(BUCKET)
        except (BucketNotFoundError, NotFoundError):
            if not create:
                return None
        return await self._js.create_object_store(BUCKET, ObjectStoreConfig(
            description="closed years of the event log (cchc archive)",
            storage=StorageType.FILE, replicas=self._replicas))

    async def manifests(self, context: str | None = None) -> list[ArchiveManifest]:
        """Every archive (of ``context``), by context, year and generation."""
        bucket = await self._bucket()
        if bucket is None:
            return []
        try:
            infos = await bucket.list()
        except NotFoundError:  # an empty bucket
            return []
        found = []
        for info in infos:
            if info.name.endswith("/" + MANIFEST) and not info.deleted:
                manifest = ArchiveManifest.model_validate_json((await bucket.get(info.name)).data)
                if context is None or manifest.context == context:
                    found.append(manifest)
        return sorted(found, key=lambda m: (m.context, m.year, m.generation))

    async def put(self, manifest: ArchiveManifest, events_file: Path) -> None:
        """Store the events first, the manifest last: an archive without a manifest is not one."""
        bucket = await self._bucket(create=True)
        with events_file.open("rb") as source:
            await bucket.put(f"{manifest.prefix}/{EVENTS}", source)
        await self.put_manifest(manifest)

    async def put_manifest(self, manifest: ArchiveManifest) -> None:
        bucket = await self._bucket(create=True)
        await bucket.put(f"{manifest.prefix}/{MANIFEST}", manifest.model_dump_json(indent=2))

    async def download(self, manifest: ArchiveManifest, into: Path) -> None:
        bucket = await self._bucket()
        if bucket is None:
            raise ObjectNotFoundError()
        with into.open("wb") as out:
            await bucket.get(f"{manifest.prefix}/{EVENTS}", writeinto=out)


class ArchiveReplay:
    """The archived events of a context after a position, in log order, merged across
    generations, read from local copies (removed by ``close``)."""

    def __init__(self, files: list[Path], after: int, folder: tempfile.TemporaryDirectory) -> None:
        self._folder = folder
        self._handles = [path.open("rb") for path in files]
        merged = heapq.merge(*(read_lines(h) for h in self._handles), key=lambda e: e.position)
        self._events = (event for event in merged if event.position > after)
        self._next: ArchivedEvent | None = next(self._events, None)

    @classmethod
    async def open(cls, nc: NATS, context: str, after: int) -> "ArchiveReplay | None":
        """None when no archive of ``context`` holds an event after ``after``."""
        wanted = [m for m in await ArchiveShelf(nc).manifests(context) if m.last_position > after]
        if not wanted:
            return None
        folder = tempfile.TemporaryDirectory(prefix="cchc-archive-")
        files = []
        for manifest in wanted:
            path = Path(folder.name) / f"{manifest.year}-{manifest.generation}.jsonl.gz"
            await ArchiveShelf(nc).download(manifest, path)
            files.append(path)
        return cls(files, after, folder)

    def peek(self) -> ArchivedEvent | None:
        return self._next

    def take(self) -> ArchivedEvent:
        assert self._next is not None
        event, self._next = self._next, next(self._events, None)
        return event

    def close(self) -> None:
        for handle in self._handles:
            handle.close()
        self._folder.cleanup()
