"""nats-py's PONG handling made safe for a flush that timed out.

nats-py (2.16) keeps one future per PING it sent (``Client._pongs``) and resolves the oldest on
each PONG. ``flush(timeout)`` cancels its future when the PONG is late, but leaves it in the
list; when that PONG does come, ``_process_pong`` sets a result on the cancelled future, which
raises ``InvalidStateError`` inside the read loop. The read loop logs "nats: encountered error"
and ends, without reconnecting (nats-io/nats.py#914, open): the client says CONNECTED and reads
nothing more until its pings count it stale, 15-20 s later. Seen in the compose cluster's fault
drill on 2026-12-07: the NATS watchdog's own flush timed out while the gateway's node was cut
off, its PONG came once the node was back, and the gateway answered 503 for 30 s.

Here a PONG still retires the oldest PING's future, but sets a result only on one that is not
done yet: a late PONG answers its own PING, which nobody waits for any more.
"""

from nats.aio.client import Client


async def _process_pong(self: Client) -> None:
    if self._pongs:
        future = self._pongs.pop(0)
        if not future.done():  # a flush that timed out cancelled it: its PONG came late
            future.set_result(True)
        self._pongs_received += 1
        self._pings_outstanding = 0


def skip_abandoned_pongs() -> None:
    """Every nats-py client of this process (once is enough)."""
    Client._process_pong = _process_pong  # type: ignore[method-assign]
