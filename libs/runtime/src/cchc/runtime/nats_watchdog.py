"""Give up on a NATS connection that no longer makes round trips, so the process is restarted.

Seen in CI on the compose cluster: when a NATS node was killed, both scoring replicas connected
to it logged asyncio's "returning true from eof_received() has no effect when using ssl" and
then never answered again, while the other services reconnected (nats-py 2.16 over TLS; a hang
of the client's read loop after EOF is a known kind of nats-py bug). A client in that state
neither reconnects nor fails. The watchdog asks the server for a PING/PONG round trip every
``every_s``; when none has completed for ``give_up_after_s`` (longer than a node's restart or a
leader election), it says so, and the service stops and exits non-zero: its supervisor
(compose's ``restart: unless-stopped``, Kubernetes) starts a fresh process, which connects anew.
"""

import asyncio
import logging
import time

from nats.aio.client import Client as NATS

log = logging.getLogger("cchc.nats_watchdog")

EVERY_S = 5.0
GIVE_UP_AFTER_S = 45.0


async def watch(nc: NATS, every_s: float = EVERY_S,
                give_up_after_s: float = GIVE_UP_AFTER_S) -> float:
    """Return (the seconds without a round trip) once the connection has made none for
    ``give_up_after_s``; run for ever otherwise."""
    last_round_trip = time.monotonic()
    while True:
        try:
            if not nc.is_connected:  # nats-py's flush returns at once while it reconnects
                raise ConnectionError("not connected")
            await nc.flush(timeout=every_s)
            last_round_trip = time.monotonic()
        except Exception as error:  # noqa: BLE001 - not connected, timed out, closed: all count
            silent = time.monotonic() - last_round_trip
            log.warning("no round trip to NATS for %.0f s (%s: %s)", silent,
                        type(error).__name__, error)
            if silent >= give_up_after_s:
                return silent
        await asyncio.sleep(every_s)
