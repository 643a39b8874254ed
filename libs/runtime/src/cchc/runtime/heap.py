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
"""

import gc


def settle_heap() -> None:
    """Freeze what the process holds now (call once started; again after more starts)."""
    gc.freeze()
