"""The heap a process built while starting, set aside from the garbage collector.

CPython's full (generation 2) collection walks every tracked object in the process: the
imported modules, pydantic's and SQLAlchemy's compiled schemas, FastAPI's routes. That startup
heap never becomes garbage, yet in the embedded default (gateway, services and projections in
one process) each full collection walked it again and stopped the event loop for up to 146 ms,
four times in 2,000 receipts at 16 clients (bench/run.py: the receipts' p99 and command-to-
projection p99 came from those pauses). ``gc.freeze`` moves what exists now into a permanent
generation that collections skip; what the process allocates later is collected as before.
No collection first: one full collection costs what is saved (100-170 ms, at each service's
start); what garbage starting left is small and stays.

During a replay batch the collector is paused (``collector_paused``): see there.
"""

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_pausing = 0  # how many replay batches are under way (a service replays several projections)


def settle_heap() -> None:
    """Freeze what the process holds now (call once started; again after more starts)."""
    gc.freeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic collection while a replay batch is folded and written.

    A replay batch holds its thousands of events, their payloads and their rows alive until it
    commits, then drops them all at once (reference counting frees them: they make no cycles).
    Collections during the batch walk those live objects again and again, and promote them to
    the older generations, whose collections walk them once more: in a rebuild of 266,667
    events into PostgreSQL, 5,047 + 458 + 41 collections took 1.3-1.6 s of the projection's
    14-16 s of CPU. Paused, nothing is walked during the batch; once the last batch under way
    ends, the collector runs as before, and its first collection finds the batch's objects
    gone. Whatever the process allocates meanwhile (requests served beside a background
    replay) waits for that collection. Nested and concurrent batches (several projections
    replaying at once) keep it paused until the last one ends; a collector disabled before
    stays disabled."""
    global _pausing
    if _pausing == 0 and not gc.isenabled():
        yield
        return
    _pausing += 1
    gc.disable()
    try:
        yield
    finally:
        _pausing -= 1
        if _pausing == 0:
            gc.enable()
