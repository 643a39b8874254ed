"""Migrate a context's stream from subject scheme 1 to 2, keeping every event where it was.

Scheme 1 wrote ``cchc.<context>.<agency>.<aggregate>.<EventType>``; scheme 2 writes one subject
per aggregate. With the services stopped, for each context:

1. copy the stream as it is into ``<STREAM>_SCHEME1`` (a JetStream source; the copy keeps every
   message, subject, header and sequence) and check the copy message by message;
2. delete the original and make the stream anew under its own name with the scheme-2 config,
   fed from the copy through the subject transform ``cchc.<ctx>.*.*.*`` ->
   ``cchc.<ctx>.{{wildcard(1)}}.{{wildcard(2)}}``;
3. check it message by message against the copy: the same sequence (so the projections'
   checkpoints stay valid: positions are sequences), the same bytes, the subject transformed;
   then cut the feed.

Every step can be run again: a migration stopped halfway goes on from where it is. The copy
stays until ``drop_legacy`` after a check passes again (``cchc migrate-subjects --drop-legacy``).
Consumers of the old stream are gone with it: the projections make theirs anew from their
checkpoints; an agency's durable consumer starts again from its first event.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from nats.aio.client import Client as NATS
from nats.js.api import StreamSource, SubjectTransform
from nats.js.errors import NotFoundError

from cchc.contracts.subjects import SUBJECT_SCHEME, parse_event_subject, scheme_1_to_2, stream_name
from cchc.runtime.stream_reader import stored_messages
from cchc.runtime.streams import SCHEME_KEY, event_stream_config, written_scheme

log = logging.getLogger("cchc.migration")

COPY_TIMEOUT_S = 600.0


class MigrationFailed(Exception):
    """A copy differs from what it copies: nothing after that step was done."""


@dataclass(frozen=True)
class Migrated:
    context: str
    events: int
    already: bool  # the stream was of scheme 2 before this run


def legacy_name(context: str) -> str:
    return f"{stream_name(context)}_SCHEME1"


async def migrate_context(
    nc: NATS, context: str, replicas: int = 1,
    progress: Callable[[str], None] = lambda step: None,
) -> Migrated:
    js = nc.jetstream(timeout=30)
    name, legacy = stream_name(context), legacy_name(context)
    current = await _info(js, name)
    if current is None and await _info(js, legacy) is None:
        return Migrated(context, 0, already=True)  # nothing written in this context yet
    if current is not None and not current.config.sources and (
            await written_scheme(js, current) == SUBJECT_SCHEME):
        return Migrated(context, current.state.last_seq, already=True)
    if current is not None and not current.config.sources:
        # Step 1: the copy of the scheme-1 stream, checked.
        if current.state.messages != current.state.last_seq or current.state.first_seq > 1:
            raise MigrationFailed(f"{name} has gaps: positions would move")
        if await _info(js, legacy) is None:
            progress(f"{name}: copying {current.state.last_seq} events to {legacy}")
            copy = event_stream_config(context, replicas)
            copy.name, copy.subjects = legacy, []
            copy.sources = [StreamSource(name=name)]
            copy.metadata = {SCHEME_KEY: "1"}
            await js.add_stream(copy)
        await _wait_for(js, legacy, current.state.last_seq)
        progress(f"{name}: checking the copy")
        await _same(nc, name, legacy, transformed=None)
        config = (await js.stream_info(legacy)).config
        if config.sources:
            config.sources = None  # else the new stream, sourcing it, would close a cycle
            await js.update_stream(config)
        # Step 2: the stream anew, fed from the copy through the transform.
        progress(f"{name}: making it anew with one subject per aggregate")
        await js.delete_stream(name)
        current = None
    if current is None:
        copied = await js.stream_info(legacy)
        fresh = event_stream_config(context, replicas)
        source, destination = scheme_1_to_2(context)
        fresh.sources = [StreamSource(name=legacy, subject_transforms=[
            SubjectTransform(src=source, dest=destination)])]
        await js.add_stream(fresh)
        current = await js.stream_info(name)
        last = copied.state.last_seq
    else:  # a run stopped while the feed was on
        last = (await js.stream_info(legacy)).state.last_seq
    # Step 3: check, then cut the feed.
    await _wait_for(js, name, last)
    progress(f"{name}: checking {last} events against {legacy}")
    await _same(nc, legacy, name, transformed=context)
    config = (await js.stream_info(name)).config
    config.sources = None
    await js.update_stream(config)
    return Migrated(context, last, already=False)


async def drop_legacy(nc: NATS, context: str) -> bool:
    """Delete the scheme-1 copy once the migrated stream is checked against it again."""
    js = nc.jetstream(timeout=30)
    legacy = legacy_name(context)
    if await _info(js, legacy) is None:
        return False
    await _same(nc, legacy, stream_name(context), transformed=context)
    await js.delete_stream(legacy)
    return True


async def _info(js, name: str):  # type: ignore[no-untyped-def]
    try:
        return await js.stream_info(name)
    except NotFoundError:
        return None


async def _wait_for(js, name: str, last_seq: int) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + COPY_TIMEOUT_S
    while (await js.stream_info(name)).state.last_seq < last_seq:
        if loop.time() > deadline:
            raise MigrationFailed(f"{name} did not reach position {last_seq}")
        await asyncio.sleep(0.1)


async def _same(nc: NATS, original: str, copy: str, transformed: str | None) -> None:
    """Every message of ``original`` is in ``copy`` at the same sequence with the same bytes;
    its subject is the same, or (``transformed``) the scheme-2 subject of its scheme-1 one."""
    originals, copies = _messages(nc, original), _messages(nc, copy)
    count = 0
    async for seq, subject, data in originals:
        try:
            copy_seq, copy_subject, copy_data = await copies.__anext__()
        except StopAsyncIteration:
            raise MigrationFailed(f"{copy} ends before position {seq}") from None
        wanted = subject if transformed is None else _scheme_2(subject)
        if (copy_seq, copy_subject, copy_data) != (seq, wanted, data):
            raise MigrationFailed(f"{copy} differs from {original} at position {seq}")
        count += 1
    async for seq, _, _ in copies:
        raise MigrationFailed(f"{copy} holds position {seq}, which {original} does not")
    log.info("%s matches %s: %d events", copy, original, count)


def _scheme_2(subject: str) -> str:
    root, context, agency, aggregate, _type = subject.split(".")
    migrated = f"{root}.{context}.{agency}.{aggregate}"
    parse_event_subject(migrated)  # a scheme-1 subject of the wrong shape fails here
    return migrated


async def _messages(nc: NATS, stream: str) -> AsyncIterator[tuple[int, str, bytes]]:
    """(sequence, subject, data) of every message, in order."""
    async for message in stored_messages(nc, stream):
        yield message.position, message.subject, message.data
