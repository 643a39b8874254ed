"""Every message of a stream in order, read by batched direct gets (no consumer to create or
clean up): what a migration, an archive or a check reads a whole stream with."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from nats.aio.client import Client as NATS

BATCH = 256
READ_TIMEOUT_S = 10.0


class StreamReadFailed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class StoredMessage:
    position: int  # the stream sequence
    subject: str
    headers: dict[str, str]  # as published (the server's Nats-* headers of the get removed)
    data: bytes


_GET_HEADERS = frozenset({"Nats-Stream", "Nats-Sequence", "Nats-Time-Stamp", "Nats-Subject",
                          "Nats-Last-Sequence", "Nats-Num-Pending"})


async def stored_messages(
    nc: NATS, stream: str, start: int = 1, subjects: str = ">",
) -> AsyncIterator[StoredMessage]:
    """The messages of ``stream`` on ``subjects`` from position ``start`` on, in order, up to
    its head when each batch is asked for."""
    while True:
        inbox = nc.new_inbox()
        sub = await nc.subscribe(inbox)
        try:
            await nc.publish(f"$JS.API.DIRECT.GET.{stream}",
                             json.dumps({"seq": start, "batch": BATCH,
                                         "next_by_subj": subjects}).encode(),
                             reply=inbox)
            while True:
                msg = await sub.next_msg(timeout=READ_TIMEOUT_S)
                headers = msg.headers or {}
                status = headers.get("Status")
                if status == "404":
                    return
                if status == "204":
                    break
                if status is not None:
                    raise StreamReadFailed(f"reading {stream}: {status} {headers}")
                position = int(headers["Nats-Sequence"])
                yield StoredMessage(
                    position, headers["Nats-Subject"],
                    {k: v for k, v in headers.items() if k not in _GET_HEADERS}, msg.data)
                start = position + 1
        finally:
            await sub.unsubscribe()
