"""A context's whole log in order: the stream merged with its archived years by position.

What the anchor signer folds into a stream digest and what ``cchc verify`` checks: an archived
year left the stream (purged) but not the history, so both read it from the archive bucket. A
restored copy (``Cchc-Restored-From``) is left out, as the projections leave it out: its
original, at its first position, is in the archive.
"""

from collections.abc import AsyncIterator

from nats.aio.client import Client as NATS

from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.subjects import RESTORED_FROM_HEADER, stream_name
from cchc.runtime.archive_store import ArchiveReplay
from cchc.runtime.stream_reader import stored_messages


async def log_events(nc: NATS, context: str, after: int = 0,
                     up_to: int | None = None) -> AsyncIterator[EventEnvelope]:
    """Every event of ``context`` with a position in (``after``, ``up_to``], in log order."""
    archive = await ArchiveReplay.open(nc, context, after)
    try:
        async for message in stored_messages(nc, stream_name(context), start=after + 1,
                                             subjects=f"cchc.{context}.>"):
            if up_to is not None and message.position > up_to:
                break
            if RESTORED_FROM_HEADER in message.headers:
                continue
            while archive is not None and (archived := archive.peek()) is not None \
                    and archived.position < message.position:
                yield EventEnvelope.from_bytes(archive.take().data, archived.position)
            yield EventEnvelope.from_bytes(message.data, message.position)
        while archive is not None and (archived := archive.peek()) is not None \
                and (up_to is None or archived.position <= up_to):
            yield EventEnvelope.from_bytes(archive.take().data, archived.position)
    finally:
        if archive is not None:
            archive.close()
