"""The benchmarks' data: dossier histories appended through the event store.

Dossier ``i`` is received 30 s after dossier ``i - 1`` from 3/1/2022 (a million dossiers span
the year 2022) by one of 20 agencies; a share of them is resolved, early.
"""

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from cchc.contracts.dossier import Channel, DossierReceived, DossierResolved, Outcome, Timeliness
from cchc.contracts.events import Event
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.ids import new_id

BASE = datetime(2022, 1, 3, 2, 0, tzinfo=UTC)
AGENCIES = 20
CHANNELS = (Channel.ONLINE, Channel.DIRECT, Channel.POSTAL)


def dossier_events(i: int, dossier_id: str = "d", resolved: bool = True) -> Iterator[Event]:
    received = BASE + timedelta(seconds=30 * i)
    due = received + timedelta(days=5)
    yield DossierReceived(
        dossier_id=dossier_id, agency=f"A{i % AGENCIES}", procedure="1.000001",
        channel=CHANNELS[i % 3], received_at=received, receipt_day=received.date(),
        processing_days=5, due_at=due, applicant={"name": "Nguyễn Văn An"},
    )
    if resolved:
        yield DossierResolved(
            resolved_at=received + timedelta(days=2), outcome=Outcome.APPROVED, due_at=due,
            timeliness=Timeliness.EARLY,
        )


async def append_dossiers(
    store: EventStore, dossiers: range, writers: int, resolved_every: int = 1,
    progress: Callable[[int], None] = lambda n: None,
) -> int:
    """Append the histories of ``dossiers`` with ``writers`` concurrent writers; every
    ``resolved_every``-th dossier is resolved. Returns the events written."""
    queue = list(reversed(dossiers))

    async def writer() -> int:
        written = 0
        while queue:
            i = queue.pop()
            history = AggregateHistory("dossier", new_id())
            for event in dossier_events(i, history.aggregate_id, i % resolved_every == 0):
                appended = await store.append(
                    history, event, agency=f"A{i % AGENCIES}", occurred_at=BASE,
                    meta=Metadata(actor="bench", correlation_id="bench"),
                )
                history = history.followed_by(appended.envelope)
                written += 1
            progress(1)
        return written

    return sum(await asyncio.gather(*(writer() for _ in range(writers))))
