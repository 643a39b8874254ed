"""dossier-stats at scale: the statistics query itself (no HTTP), on SQLite and PostgreSQL.

    .venv/bin/python bench/dossier_stats.py [--dossiers 1000000] [--runs 200]
        [--backends sqlite,postgres] [--check 0]

Fills a fresh dossier read model with ``--dossiers`` synthetic histories straight through the
projection's ``apply_batch`` (batches of 1,000 events, one transaction each, like the projection
runner; no NATS): receipts spread over 2022 at every hour of the day across 20 agencies; most
resolved (early, on time, some late), some sent back for a supplement and supplemented, some
extended with an apology, some withdrawn, some left open (many of those overdue). The events go
in business-time order, as a real log holds them. Then it times ``statistics.dossier_stats``
(a connection from the pool, the query, the answer in Python) for province-wide and one-agency
queries over a year, a month and a day (random periods in 2022, the same seed every run) and
prints p50 / p99 in ms, plus the fill rate. ``--check N`` also compares N random periods with
``statistics.dossier_stats_reference`` when that exists.

PostgreSQL: the server at $CCHC_TEST_POSTGRES_URL (default 127.0.0.1:5432, user postgres); a
database is created for the run and dropped after it.
"""

import argparse
import asyncio
import heapq
import os
import random
import statistics as pystats
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from cchc.contracts.envelope import EventEnvelope
from cchc.dossier import statistics
from cchc.dossier.domain.calendar import WorkingCalendar, timeliness
from cchc.dossier.projections import DossierReadModel
from cchc.runtime.sqldb import create_engine
from cchc.runtime.testing import DEFAULT_POSTGRES, create_database, drop_database

BASE = datetime(2021, 12, 31, 17, 0, tzinfo=UTC)  # 1/1/2022 00:00 in Vietnam
YEAR_SECONDS = 365 * 86400
AGENCIES = [f"A{n:02d}" for n in range(20)]
CHANNELS = ["online"] * 5 + ["direct"] * 4 + ["postal"]
PROCESSING_DAYS = (3, 5, 7, 10, 15)
BATCH = 1000
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


class Generator:
    """Histories as (business time, tie-break, dossier, version, type, payload), in time order."""

    def __init__(self, count: int, seed: int = 7) -> None:
        self.count = count
        self.rng = random.Random(seed)
        self.calendar = WorkingCalendar()
        self._due: dict[tuple[date, int], datetime] = {}
        self._receipt: dict[tuple[date, int], date] = {}

    def due_at(self, day: date, processing_days: int) -> datetime:
        key = (day, processing_days)
        if key not in self._due:
            self._due[key] = self.calendar.due_at(day, processing_days)
        return self._due[key]

    def receipt_day(self, moment: datetime) -> date:
        local = moment + timedelta(hours=7)
        key = (local.date(), local.hour >= 17)
        if key not in self._receipt:
            self._receipt[key] = self.calendar.receipt_day(moment)
        return self._receipt[key]

    def history(self, i: int) -> list[tuple[datetime, str, dict[str, Any]]]:
        rng = self.rng
        received_at = BASE + timedelta(seconds=YEAR_SECONDS * i / self.count)
        days = rng.choice(PROCESSING_DAYS)
        receipt_day = self.receipt_day(received_at)
        due_at = self.due_at(receipt_day, days)
        agency = rng.choice(AGENCIES)
        events: list[tuple[datetime, str, dict[str, Any]]] = [(received_at, "DossierReceived", {
            "dossier_id": f"d{i}", "agency": agency, "procedure": f"P{days}",
            "channel": rng.choice(CHANNELS), "received_at": received_at.isoformat(),
            "receipt_day": receipt_day.isoformat(), "processing_days": days,
            "due_at": due_at.isoformat(), "applicant": {"name": "Nguyễn Văn An"},
        })]
        now, r = received_at, rng.random()

        def resolve(at: datetime) -> None:
            events.append((at, "DossierResolved", {
                "resolved_at": at.isoformat(), "outcome": "approved", "due_at": due_at.isoformat(),
                "timeliness": timeliness(at, due_at).value, "reason": "",
            }))

        if r < 0.03:  # withdrawn
            now += rng.uniform(1, 240) * HOUR
            events.append((now, "DossierWithdrawn", {"withdrawn_at": now.isoformat(), "reason": "r"}))
        elif r < 0.11:  # sent back for a supplement, supplemented, mostly resolved
            now += rng.uniform(2, 72) * HOUR
            events.append((now, "SupplementRequested", {"requested_at": now.isoformat(), "reason": "r"}))
            now += rng.uniform(24, 240) * HOUR
            restart = self.receipt_day(now)
            due_at = self.due_at(restart, days)
            events.append((now, "DossierSupplemented", {
                "supplemented_at": now.isoformat(), "restart_day": restart.isoformat(),
                "due_at": due_at.isoformat()}))
            if rng.random() < 0.85:
                resolve(now + rng.uniform(2, 24 * days * 1.6) * HOUR)
        elif r < 0.13:  # an apology, a new appointment, resolved late
            extended = max(now + HOUR, due_at - 20 * HOUR)
            events.append((extended, "DossierExtended", {
                "extended_at": extended.isoformat(), "new_due_at": (due_at + 5 * DAY).isoformat(),
                "reason": "r"}))
            resolve(due_at + rng.uniform(1, 100) * HOUR)
        elif r < 0.95:
            resolve(now + rng.uniform(1, 24 * days * 1.6) * HOUR)
        # else: still open
        return events

    def envelopes(self) -> Iterator[EventEnvelope]:
        """Every event of every history, in business-time order, with log positions."""
        pending: list[tuple[datetime, int, int, int, str, dict[str, Any]]] = []
        tie = position = 0

        def envelope(at: datetime, i: int, version: int, kind: str, payload: dict[str, Any]):
            nonlocal position
            position += 1
            return EventEnvelope.model_construct(
                event_id=f"d{i}-{version}", type=kind, schema_version=1 if kind != "DossierResolved"
                else 2, context="dossier", agency=payload.get("agency", ""), aggregate_id=f"d{i}",
                aggregate_version=version, occurred_at=at, recorded_at=at, actor="bench",
                correlation_id="bench", causation_id=None, payload=payload, prev_hash="",
                hash="", position=position,
            )

        for i in range(self.count):
            history = self.history(i)
            received_at = history[0][0]
            while pending and pending[0][0] <= received_at:
                yield envelope(*_without_tie(heapq.heappop(pending)))
            yield envelope(received_at, i, 1, history[0][1], history[0][2])
            for version, (at, kind, payload) in enumerate(history[1:], start=2):
                tie += 1
                heapq.heappush(pending, (at, tie, i, version, kind, payload))
        while pending:
            yield envelope(*_without_tie(heapq.heappop(pending)))


def _without_tie(item):  # type: ignore[no-untyped-def]
    at, _, i, version, kind, payload = item
    return at, i, version, kind, payload


async def fill(url: str, count: int) -> dict[str, float]:
    engine = create_engine(url)
    model = DossierReadModel()
    async with engine.begin() as conn:
        await conn.run_sync(model.metadata.create_all)
    events = applying = 0.0
    started = time.perf_counter()
    batch: list[EventEnvelope] = []

    async def flush() -> None:
        nonlocal applying
        t = time.perf_counter()
        async with engine.begin() as conn:
            await model.apply_batch(conn, batch)
        applying += time.perf_counter() - t
        batch.clear()

    for envelope in Generator(count).envelopes():
        batch.append(envelope)
        events += 1
        if len(batch) == BATCH:
            await flush()
            if int(events) % 200_000 == 0:
                print(f"  {int(events):>9} events, {events / applying:,.0f} events/s applied",
                      file=sys.stderr, flush=True)
    if batch:
        await flush()
    total = time.perf_counter() - started
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
    else:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("ANALYZE")
            await conn.commit()
    await engine.dispose()
    return {"events": events, "apply_seconds": applying, "total_seconds": total}


PERIODS = {"year": 365, "month": 30, "day": 1}


def periods(kind: str, runs: int, rng: random.Random) -> list[tuple[date, date]]:
    length = PERIODS[kind]
    if length == 365:
        return [(date(2022, 1, 1), date(2022, 12, 31))] * runs
    result = []
    for _ in range(runs):
        start = date(2022, 1, 1) + timedelta(days=rng.randrange(365 - length + 1))
        result.append((start, start + timedelta(days=length - 1)))
    return result


async def time_queries(url: str, runs: int, check: int) -> list[tuple[str, str, float, float]]:
    engine = create_engine(url)
    rng = random.Random(11)
    rows = []
    async with engine.connect() as conn:  # warm the pool and the caches once
        await statistics.dossier_stats(conn, None, date(2022, 1, 1), date(2022, 12, 31))
    for scope in ("province", "agency"):
        for kind in PERIODS:
            samples = []
            for start, end in periods(kind, runs, rng):
                agencies = None if scope == "province" else [rng.choice(AGENCIES)]
                t = time.perf_counter()
                async with engine.connect() as conn:
                    await statistics.dossier_stats(conn, agencies, start, end)
                samples.append((time.perf_counter() - t) * 1000)
            samples.sort()
            p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
            rows.append((scope, kind, pystats.median(samples), p99))
            print(f"  {scope:8} {kind:5} p50 {rows[-1][2]:8.2f} ms  p99 {p99:8.2f} ms",
                  file=sys.stderr, flush=True)
    reference = getattr(statistics, "dossier_stats_reference", None)
    if check and reference is not None:
        for n in range(check):
            start = date(2022, 1, 1) + timedelta(days=rng.randrange(365))
            end = start + timedelta(days=rng.randrange(400))
            agencies = None if n % 2 else [rng.choice(AGENCIES)]
            async with engine.connect() as conn:
                fast = await statistics.dossier_stats(conn, agencies, start, end)
                slow = await reference(conn, agencies, start, end)
            assert fast == slow, (start, end, agencies)
        print(f"  {check} random periods: the same answers as the reference query", file=sys.stderr)
    await engine.dispose()
    return rows


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--backends", default="sqlite,postgres")
    parser.add_argument("--check", type=int, default=0)
    args = parser.parse_args()
    server = os.environ.get("CCHC_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
    results = []
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as folder:
            if backend == "sqlite":
                url = f"sqlite:///{Path(folder) / 'dossier.db'}"
            else:
                url = await create_database(server)
            try:
                print(f"{backend}: filling {args.dossiers:,} dossiers", file=sys.stderr, flush=True)
                filled = await fill(url, args.dossiers)
                print(f"{backend}: timing {args.runs} runs per query", file=sys.stderr, flush=True)
                results.append((backend, filled, await time_queries(url, args.runs, args.check)))
            finally:
                if backend != "sqlite":
                    await drop_database(server, url)
    print(f"\ndossier-stats, {args.dossiers:,} dossiers, {args.runs} runs per row "
          f"(statistics.dossier_stats, connection from the pool included)")
    print(f"{'backend':10} {'scope':9} {'period':7} {'p50 ms':>9} {'p99 ms':>9}")
    for backend, _, rows in results:
        for scope, kind, p50, p99 in rows:
            print(f"{backend:10} {scope:9} {kind:7} {p50:9.2f} {p99:9.2f}")
    print(f"\n{'backend':10} {'events':>10} {'dossiers/s':>11} {'events/s':>10} "
          f"(apply_batch + commit, batches of {BATCH})")
    for backend, filled, _ in results:
        seconds = filled["apply_seconds"]
        print(f"{backend:10} {int(filled['events']):>10} {args.dossiers / seconds:>11,.0f} "
              f"{filled['events'] / seconds:>10,.0f}")


if __name__ == "__main__":
    asyncio.run(main())
