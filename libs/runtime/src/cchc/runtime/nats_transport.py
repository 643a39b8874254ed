"""nats-py's TCP transport with its close bounded, so that a reconnect never waits on a dead peer.

nats-py (2.16) closes a lost connection before it reconnects, and waits until that close is done
(``Client._attempt_reconnect``: ``transport.close()``, then ``await transport.wait_closed()``).
A TLS connection closes with an exchange of close_notify alerts; when the node at the other end
is gone (its container killed, its network cut), nothing answers, and the wait lasts until the
SSL shutdown times out (30 s) or TCP gives up (minutes: nats-io/nats.py#671, open). All that
time the client is neither connected nor trying another node. Seen in tests/containers (faults
under load): after a NATS node was killed, the gateway answered 503 to every command until its
NATS watchdog restarted it, 45 s later.

Here the wait is ``CLOSE_WAIT_S`` at most; then the connection is aborted (closed at once, the
alert unsent) and nats-py goes on to the next node.
"""

from nats.aio.transport import TcpTransport

from cchc.runtime.waiting import wait_at_most

CLOSE_WAIT_S = 2.0

_wait_closed = TcpTransport.wait_closed


async def _bounded_wait_closed(self: TcpTransport) -> None:
    writer = self._io_writer
    if writer is None:
        return
    if not await wait_at_most(_wait_closed(self), CLOSE_WAIT_S):
        writer.transport.abort()  # the peer will not answer the close: drop the connection


def bound_transport_close() -> None:
    """Bound every nats-py TCP connection's close in this process (once is enough)."""
    TcpTransport.wait_closed = _bounded_wait_closed  # type: ignore[method-assign]
