"""First benchmark of the event log: appends and rebuilds, printed as a table.

    .venv/bin/python bench/event_log.py [--events N] [--postgres URL]

- append: events per second through EventStore.append (optimistic concurrency, de-duplication,
  hash chain, one aggregate per dossier with 3 events each) next to raw nats-py JetStream publish
  of the same payloads on the same server, sequential and with 32 concurrent writers;
- rebuild: events per second replayed by the dossier read model into SQLite and PostgreSQL.
Runs against a fresh nats-server from the wheel (sync_interval: always, as `cchc up` runs it).
"""

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats

from cchc.contracts.dossier import Channel, DossierReceived, DossierResolved, Outcome, Timeliness
from cchc.dossier.projections import DossierReadModel
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream, event_stream_config
from cchc.runtime.testing import create_database, drop_database

BASE = datetime(2022, 1, 3, 2, 0, tzinfo=UTC)


def dossier_events(i: int, dossier_id: str = "d"):
    received = BASE + timedelta(minutes=i)
    due = received + timedelta(days=5)
    yield DossierReceived(
        dossier_id=dossier_id, agency=f"A{i % 20}", procedure="1.000001", channel=Channel.ONLINE,
        received_at=received, receipt_day=received.date(), processing_days=5, due_at=due,
        applicant={"name": "Nguyễn Văn An"},
    )
    yield DossierResolved(
        resolved_at=received + timedelta(days=2), outcome=Outcome.APPROVED, due_at=due,
        timeliness=Timeliness.EARLY,
    )


async def append_through_store(store: EventStore, dossiers: range, concurrency: int) -> int:
    queue = list(dossiers)

    async def writer() -> int:
        written = 0
        while queue:
            i = queue.pop()
            history = AggregateHistory("dossier", new_id())
            for event in dossier_events(i, history.aggregate_id):
                appended = await store.append(
                    history, event, agency=f"A{i % 20}", occurred_at=BASE,
                    meta=Metadata(actor="bench", correlation_id="bench"),
                )
                history = history.followed_by(appended.envelope)
                written += 1
        return written

    return sum(await asyncio.gather(*(writer() for _ in range(concurrency))))


async def raw_publish(js, count: int, concurrency: int, payload: bytes) -> int:
    remaining = [count]

    async def writer() -> int:
        written = 0
        while remaining[0] > 0:
            remaining[0] -= 1
            await js.publish(f"bench.{new_id()}", payload, stream="BENCH")
            written += 1
        return written

    return sum(await asyncio.gather(*(writer() for _ in range(concurrency))))


async def timed(coroutine) -> tuple[int, float]:
    start = time.perf_counter()
    count = await coroutine
    return count, time.perf_counter() - start


async def main(events: int, postgres: str) -> None:
    rows: list[tuple[str, int, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        conf = Path(tmp) / "nats.conf"
        conf.write_text("jetstream { sync_interval: always }\n")
        server = NatsServer(store_dir=Path(tmp) / "js", config_file=conf).start()
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_event_stream(js, "dossier")
        # Raw publishes go to a twin stream with the same settings, so the rebuild reads only
        # real envelopes.
        twin = event_stream_config("dossier")
        twin.name, twin.subjects = "BENCH", ["bench.>"]
        await js.add_stream(twin)
        store = EventStore(nc)
        sample = next(dossier_events(0)).model_dump_json().encode() * 2
        dossiers = events // 2
        for concurrency in (1, 32):
            n, s = await timed(raw_publish(js, events, concurrency, sample))
            rows.append((f"raw nats-py publish, {concurrency} writer(s)", n, s))
            n, s = await timed(append_through_store(store, range(dossiers), concurrency))
            rows.append((f"EventStore.append, {concurrency} writer(s)", n, s))
        total = (await js.stream_info("DOSSIER")).state.last_seq
        for kind in ("sqlite", "postgres"):
            url = f"sqlite:///{tmp}/rebuild.db" if kind == "sqlite" else await create_database(postgres)
            engine = create_engine(url)
            runner = ProjectionRunner(nc, engine, DossierReadModel(), batch_size=1000,
                                      consumer_name=f"bench-{kind}")
            await runner.drop()
            n, s = await timed(runner.catch_up())
            rows.append((f"rebuild into {kind} (all {total} log entries)", n, s))
            await engine.dispose()
            if kind == "postgres":
                await drop_database(postgres, url)
        await nc.close()
        server.stop()
    print(f"\n{'measure':<52} {'events':>9} {'seconds':>9} {'events/s':>10}")
    for name, n, s in rows:
        print(f"{name:<52} {n:>9} {s:>9.2f} {n / s:>10.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=20000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    asyncio.run(main(args.events, args.postgres))
