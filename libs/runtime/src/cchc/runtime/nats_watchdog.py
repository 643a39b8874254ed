"""Give up on a NATS connection that no longer makes round trips, so the process is restarted.

Seen in CI on the compose cluster: when a NATS node was killed, both scoring replicas connected
to it logged asyncio's "returning true from eof_received() has no effect when using ssl" and
then never answered again, while the other services reconnected (nats-py 2.16 over TLS; a hang
of the client's read loop after EOF is a known kind of nats-py bug). A client in that state
neither reconnects nor fails. The watchdog asks the server for a PING/PONG round trip every
``every_s``; when none has completed for ``give_up_after_s`` (longer than a node's restart or a
leader election), it says so, and the service stops and exits non-zero: its supervisor
(compose's ``restart: unless-stopped``, Kubernetes) starts a fresh process, which connects anew.

A node can also answer its clients' PINGs while it has lost its routes to the other nodes: seen
in the compose cluster's fault drill, where the gateway reconnected to a node just back from a
partition and all its requests timed out for half a minute, until the drill restarted it. Such
a node answers JetStream's ``$JS.API.INFO`` with 503 ("JetStream system temporarily
unavailable") or not at all. After each round trip the watchdog asks it; when JetStream has not
answered for ``move_on_after_s`` (longer than a leader election), the client moves to another
node (nats-py's ``force_reconnect``; through the one name ``nats`` that every node answers to,
DNS or the Service picks again).
A node reached by a reconnect gets less time: ``fresh_move_on_after_s`` (5 s), asked every
second, until its JetStream has answered once. In the fault drill's longest pauses after the
reconnect fix (30-37 s, 3 of 13 runs on 2026-12-07), the gateway had reconnected to the node
that had just come back and whose JetStream did not answer yet, and stayed there the whole
15 s (21 s at the 5 s looks); a node that served JetStream before gets the 15 s, which a leader
election needs, and moving would not help there.

And a connection lost and not back within ``reconnect_within_s`` counts as given up at once: a
reconnect takes a second or two while a node is up, but in the drill of 2026-12-07 the gateway
lost its node at the leader's kill and then logged no reconnect attempt, failed or not, for
the 45 s until the watchdog stopped it, while two nodes were up: nats-py's reconnect itself was
stuck. Counted from when the loss is noticed, not from the last round trip, so that finding a
silent node dead (up to 15 s of unanswered PINGs) does not eat into it. Giving up, it logs
where each of the process's tasks waits (``cchc.runtime.task_stacks``): the stuck reconnect's
cause is not known yet, and the restart takes its state with it. The drill then showed it: no
reconnect task left at all (``reconnect_abandoned``); such a connection is given up at once.

The watchdog's round trips are flushes with a timeout. nats-py's read loop dies when the PONG of
a flush that timed out comes late (``cchc.runtime.nats_pongs``, applied here), and on any error
it does not expect, leaving a client that says CONNECTED and reads nothing (nats-io/nats.py#914):
a connected client whose read loop has ended is sent to reconnect at the next look.
"""

import asyncio
import logging
import time

from nats.aio.client import Client as NATS
from nats.js.errors import ServiceUnavailableError

from cchc.runtime.nats_pongs import skip_abandoned_pongs
from cchc.runtime.task_stacks import describe_tasks

log = logging.getLogger("cchc.nats_watchdog")

EVERY_S = 5.0
GIVE_UP_AFTER_S = 45.0
MOVE_ON_AFTER_S = 15.0
FRESH_MOVE_ON_AFTER_S = 5.0  # a node just reached whose JetStream has not answered yet
FRESH_EVERY_S = 1.0  # how often such a node is asked
RECONNECT_WITHIN_S = 15.0
# nats-py's connection states, for the log (Client.DISCONNECTED ... Client.DRAINING_PUBS).
_STATUS = {getattr(NATS, name): name for name in ("DISCONNECTED", "CONNECTED", "CLOSED",
                                                   "RECONNECTING", "CONNECTING",
                                                   "DRAINING_SUBS", "DRAINING_PUBS")}
JETSTREAM_ANSWER_S = 2.0  # JetStream's API answers in milliseconds; a probe waits this at most


async def watch(nc: NATS, every_s: float = EVERY_S, give_up_after_s: float = GIVE_UP_AFTER_S,
                move_on_after_s: float = MOVE_ON_AFTER_S,
                reconnect_within_s: float = RECONNECT_WITHIN_S,
                fresh_move_on_after_s: float = FRESH_MOVE_ON_AFTER_S) -> float:
    """Return (the seconds without a round trip) once the connection has made none for
    ``give_up_after_s``, or has been lost and not back for ``reconnect_within_s``; run for
    ever otherwise, moving to another node whenever the one it is on has not reached JetStream
    for ``move_on_after_s``, or for ``fresh_move_on_after_s`` on a node just reached whose
    JetStream has not answered yet."""
    last_round_trip = last_jetstream = time.monotonic()
    lost_since: float | None = None
    js = nc.jetstream(timeout=min(every_s, JETSTREAM_ANSWER_S))
    node = _Node(nc)
    skip_abandoned_pongs()  # the flushes below time out whenever the node is slow to answer
    while True:
        node.follow(nc)
        if read_loop_ended(nc):  # why: nats-py's own "encountered error" line, just before
            log.warning("nats-py's read loop has ended on a connected client: reconnecting")
            await nc.force_reconnect()
        try:
            if not nc.is_connected:  # nats-py's flush returns at once while it reconnects
                lost_since = lost_since or time.monotonic()
                if reconnect_abandoned(nc):
                    task = getattr(nc, "_reconnection_task", None)
                    log.warning("nats-py's reconnect has ended with the connection still lost "
                                "(status %s, %s; its last error: %r): giving up on it now",
                                _STATUS.get(nc._status, nc._status), how_it_ended(task),
                                nc.last_error, exc_info=_raised(task))
                    _log_tasks()
                    return time.monotonic() - last_round_trip
                raise ConnectionError("not connected")
            lost_since = None
            await nc.flush(timeout=every_s)
            last_round_trip = time.monotonic()
        except Exception as error:  # noqa: BLE001 - not connected, timed out, closed: all count
            silent = time.monotonic() - last_round_trip
            log.warning("no round trip to NATS for %.0f s (%s: %s)", silent,
                        type(error).__name__, error)
            if silent >= give_up_after_s:
                _log_tasks()
                return silent
            if lost_since is not None and time.monotonic() - lost_since >= reconnect_within_s:
                log.warning("lost the NATS connection %.0f s ago and not back: giving up on it",
                            time.monotonic() - lost_since)
                _log_tasks()
                return silent
            last_jetstream = time.monotonic()  # the next node gets its own time to answer
        else:
            if await _reaches_jetstream(js):
                last_jetstream = time.monotonic()
                node.answered = True
            elif (cut_off := time.monotonic() - node.since(last_jetstream)) >= (
                    move_on_after_s if node.answered else fresh_move_on_after_s):
                log.warning("the NATS node at %s answers, but not its JetStream for %.0f s "
                            "(%s): moving to another node", node_address(nc), cut_off,
                            "its routes to the other nodes are down?" if node.answered
                            else "reached by a reconnect, it has not served JetStream yet")
                await nc.force_reconnect()
                last_jetstream = time.monotonic()
        await asyncio.sleep(every_s if node.answered else min(every_s, FRESH_EVERY_S))


class _Node:
    """The node the connection is on, as far as the watchdog can tell: a new one after every
    reconnect (nats-py counts them once the server has taken the CONNECT), and whether its
    JetStream has answered since."""

    def __init__(self, nc: NATS) -> None:
        self.reconnects = nc.stats["reconnects"]
        self.reached = time.monotonic()
        self.answered = True  # the first connect: the process has just made its streams there

    def follow(self, nc: NATS) -> None:
        if nc.stats["reconnects"] != self.reconnects:
            self.reconnects = nc.stats["reconnects"]
            self.reached = time.monotonic()
            self.answered = False

    def since(self, last_jetstream: float) -> float:
        """When JetStream was last reached, for this node: not before the node was."""
        return last_jetstream if self.answered else max(last_jetstream, self.reached)


async def _reaches_jetstream(js) -> bool:  # type: ignore[no-untyped-def]
    """False if the node says JetStream is unavailable (503) or does not answer; any other
    answer (an account without JetStream included) is not a matter of routes."""
    try:
        await js.account_info()
    except (ServiceUnavailableError, TimeoutError):
        return False
    except Exception:  # noqa: BLE001 - answered, one way or another
        return True
    return True


def reconnect_abandoned(nc: NATS) -> bool:
    """nats-py's connection is lost and not closed, but its reconnect task has ended: it never
    will reconnect.

    Seen in the drill of 2026-12-07 (the task dumps): the gateway and a planning replica, "not
    connected" for 20 s, had no ``Client._attempt_reconnect`` task left, nor any of the
    connection's own tasks. ``_attempt_reconnect`` (nats-py 2.16) ends its loop on a
    ``CancelledError`` (``except asyncio.CancelledError: break``) and dies on any exception
    it does not list, leaving the status as it was: RECONNECTING, or CONNECTING when it ended
    in ``_process_connect_init`` (which sets that status first). A later drill met the second:
    the watchdog, then checking RECONNECTING only, waited out ``reconnect_within_s``. nats-py
    sets the status and creates the task together, with no await between (``_process_op_err``,
    ``force_reconnect``), and a connection is CONNECTED before its task ends, so a lost client
    without a running task is stuck for good. Relies on nats-py's private
    ``_reconnection_task``; ``libs/runtime/tests/test_nats_watchdog.py`` fails if it goes."""
    task = getattr(nc, "_reconnection_task", None)
    return not nc.is_connected and not nc.is_closed and (task is None or task.done())


def read_loop_ended(nc: NATS) -> bool:
    """nats-py says CONNECTED but no longer reads: its read loop ended on an error it does not
    reconnect on (nats-io/nats.py#914). Relies on nats-py's private ``_reading_task``;
    ``libs/runtime/tests/test_nats_watchdog.py`` fails if it goes."""
    task = getattr(nc, "_reading_task", None)
    return nc.is_connected and task is not None and task.done()


def how_it_ended(task: "asyncio.Task[None] | None") -> str:
    """How nats-py's reconnect task ended, for the log: the stall's cause is still unknown."""
    if task is None:
        return "no reconnect task"
    if task.cancelled():
        return "its task was cancelled"
    if (error := task.exception()) is not None:
        return f"its task raised {type(error).__name__}: {error}"
    # nats-py's loop returns on a CancelledError it caught, or on finding the client closed.
    return "its task returned: a cancel it caught, or the client closed"


def _raised(task: "asyncio.Task[None] | None") -> BaseException | None:
    """The exception the task died of, for its traceback in the log."""
    if task is None or not task.done() or task.cancelled():
        return None
    return task.exception()


def _log_tasks() -> None:
    """Where each task waits as the connection is given up: nats-py's reconnect among them,
    should it be the one stuck (the process restarts next, and its state with it)."""
    log.warning("giving up on NATS; where each task waits:\n%s", describe_tasks())


def node_address(nc: NATS) -> str:
    """The node the connection is on, as host:port: never the URL, which carries the password."""
    url = nc.connected_url
    return f"{url.hostname}:{url.port}" if url is not None else "?"
