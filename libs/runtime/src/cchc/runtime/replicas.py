"""How many copies each stream of the installation keeps, and raising that number.

A stream or bucket is made with the replicas its process is configured for (``*_STREAM_REPLICAS``)
and never rewritten by that process afterwards: the services' NATS users may create their
streams, not edit them. So one made R1 (by an earlier release, or before the installation became
a cluster) stays R1 on a cluster of three, where one node's lost disk loses every event it holds
that no backup has. ``under_replicated`` tells, and every process says so in its log when it
opens such a stream; ``raise_replicas`` is what ``cchc replicas --raise-to N`` does, as ops.
"""

import logging
from dataclasses import dataclass

from nats.errors import Error as NatsError
from nats.js import JetStreamContext
from nats.js.api import StreamInfo

log = logging.getLogger("cchc.replicas")

FIX = "cchc replicas --nats-url <ops URL> --raise-to {wanted}"


async def under_replicated(js: JetStreamContext, stream: str, wanted: int) -> int | None:
    """The replicas ``stream`` keeps when fewer than ``wanted`` (a warning in the log, with the
    command that raises it); None when it keeps enough or cannot be asked (the caller's user
    may not read its info: nothing to say then)."""
    try:
        info = await js.stream_info(stream)
    except Exception as error:  # noqa: BLE001 - a warning's look-up must not stop a start
        log.debug("replicas of %s not read: %s", stream, error)
        return None
    kept = info.config.num_replicas or 1
    if kept >= wanted:
        return None
    log.warning("stream %s keeps %d replica(s) where %d are configured: a node's loss can lose "
                "or stop it; raise it with `%s`", stream, kept, wanted, FIX.format(wanted=wanted))
    return kept


@dataclass(frozen=True)
class Raised:
    stream: str
    before: int
    after: int
    error: str | None = None  # the server's reason when it refused (e.g. too few nodes)


async def all_streams(js: JetStreamContext) -> list[StreamInfo]:
    """Every stream of the account, page after page (the server lists 256 at a time)."""
    streams: list[StreamInfo] = []
    while page := await js.streams_info(offset=len(streams)):
        streams.extend(page)
    return streams


async def raise_replicas(js: JetStreamContext, wanted: int) -> list[Raised]:
    """Raise every stream that keeps fewer than ``wanted`` replicas to ``wanted``; never lower
    one. The server copies the stream to the new peers while it keeps serving; one it refuses
    (fewer nodes than ``wanted``, say) is left as it was, its reason reported."""
    changed: list[Raised] = []
    for info in await all_streams(js):
        kept = info.config.num_replicas or 1
        if kept >= wanted:
            continue
        info.config.num_replicas = wanted
        try:
            await js.update_stream(info.config)
        except NatsError as error:
            reason = getattr(error, "description", None) or str(error)
            changed.append(Raised(info.config.name, kept, kept, reason))
            continue
        changed.append(Raised(info.config.name, kept, wanted))
    return changed
