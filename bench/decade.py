"""A decade of a province on this machine: a log of 10M events, measured (issue 18, item 3).

    .venv/bin/python bench/decade.py                      # 10,000,000 events (~1 hour here)
    .venv/bin/python bench/decade.py --events 50000       # a quick look (~1 minute)
    .venv/bin/python bench/decade.py --check              # stored bytes == EventStore.append's

1. The log: agencies, procedures, each agency's yearly plans and tasks, and dossiers of 3 to 5
   events at a million dossiers a year (proportions in bench/decade_log.py), published as
   EventStore.append publishes (same subject, headers, envelope bytes and hash chain; expected
   last subject sequence = the previous event's acknowledged sequence), 2,000 in flight.
2. nats-server: resident memory after the load and after a restart, the restart time (until
   JetStream answers stream info), the store's size on disk.
3. Rebuild of the dossier and planning read models into SQLite and into PostgreSQL, each in a
   process of its own: events/s, peak memory, the database's size.
4. Latency through the gateway (dossier, planning and scoring services in one process, the
   measuring client in this one): dossier-stats for a year (every agency, one agency) and the
   agency report, p50/p99, on the SQLite and on the PostgreSQL read models.

Data lives under --workdir (default /work/tmp-decade), removed at the end unless --keep.
Prints the figures as a table and writes them as JSON to --out.
"""

import argparse
import asyncio
import json
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import nats

from cchc.runtime.natsserver import NatsServer, free_port
from cchc.runtime.streams import ensure_event_stream

sys.path.insert(0, str(Path(__file__).parent))
import decade_log as log  # noqa: E402
from broker_load import resident_mib, wait_healthy  # noqa: E402

HERE = Path(__file__).parent
WINDOW = 2000  # events in flight
VERIFY_EVERY = 50_000  # one dossier in so many is re-read through the contracts' models


def note(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


# --- 1. the log ---------------------------------------------------------------------------------

async def publish(nc, aggregates, progress=lambda n: None, window: int = WINDOW) -> int:  # type: ignore[no-untyped-def]
    """Every aggregate's events in order, as EventStore.append publishes them; ``window``
    aggregates at a time, each waiting for its previous event's acknowledgement (whose sequence
    the next event's expected-sequence header carries). The acknowledgements come to one inbox
    subscription (nats-py's request() costs a timer task per message)."""
    iterator = iter(aggregates)
    published = 0
    inbox = nc.new_inbox()
    waiting: dict[str, asyncio.Future] = {}

    async def on_ack(msg) -> None:  # type: ignore[no-untyped-def]
        waiting.pop(msg.subject).set_result(msg.data)

    subscription = await nc.subscribe(f"{inbox}.*", cb=on_ack, pending_msgs_limit=-1,
                                      pending_bytes_limit=-1)
    loop = asyncio.get_running_loop()

    async def lane(number: int) -> None:
        nonlocal published
        reply_to = f"{inbox}.{number}"
        for aggregate in iterator:
            last = 0
            for message, _ in aggregate.stored():
                message.headers["Nats-Expected-Last-Subject-Sequence"] = str(last)
                future = waiting[reply_to] = loop.create_future()
                await nc.publish(message.subject, message.body, reply=reply_to,
                                 headers=message.headers)
                answer = json.loads(await future)
                if "error" in answer:
                    raise RuntimeError(f"{message.subject}: {answer['error']}")
                last = answer["seq"]
                published += 1
            progress(len(aggregate.events))

    try:
        await asyncio.gather(*(lane(n) for n in range(window)))
    finally:
        await subscription.unsubscribe()
    return published


def dossier_stream(count: int, stop: list[bool]):  # type: ignore[no-untyped-def]
    for i in range(count):
        if stop[0]:
            note(f"  stopped at dossier {i:,}: nats-server passed its memory limit")
            return
        aggregate = log.dossier(i)
        if i % VERIFY_EVERY == 0:
            log.verify(aggregate)
        yield aggregate


async def build(server: NatsServer, events: int, limit_mib: float) -> dict:
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    for context in ("dossier", "planning", "scoring"):
        await ensure_event_stream(js, context)
    reference = log.reference()
    reference_events = sum(len(a.events) for a in reference)
    # Years of dossiers at DOSSIERS_A_YEAR, 4 events each; a plan for every year they touch.
    years = max(1, -(-events // (4 * log.DOSSIERS_A_YEAR)))
    plans = log.planning(years)
    planning_events = sum(len(a.events) for a in plans)
    dossiers = log.dossiers_for(events, planning_events, reference_events)
    for aggregate in reference + plans[:200]:
        log.verify(aggregate)
    started = time.perf_counter()
    done = [0, time.perf_counter()]
    stop, peak = [False], [0.0]
    assert server.process is not None
    pid = server.process.pid

    def progress(n: int) -> None:
        done[0] += n
        if time.perf_counter() - done[1] > 30:
            done[1] = time.perf_counter()
            rate = done[0] / (done[1] - started)
            rss = resident_mib(pid)
            peak[0] = max(peak[0], rss)
            stop[0] = stop[0] or rss > limit_mib
            note(f"  {done[0]:,} events published, {rate:,.0f}/s; nats-server {rss:,.0f} MiB")

    written = await publish(nc, reference, progress)
    written += await publish(nc, plans, progress)
    written += await publish(nc, dossier_stream(dossiers, stop), progress)
    seconds = time.perf_counter() - started
    counts = {}
    for context in ("dossier", "planning"):
        counts[context] = (await js.stream_info(context.upper())).state.messages
    await nc.close()
    if counts["dossier"] + counts["planning"] != written:
        raise RuntimeError(f"{written} published, {counts} stored")
    peak[0] = max(peak[0], resident_mib(pid))
    dossiers = (counts["dossier"] - reference_events) // 4 if stop[0] else dossiers
    return {"events": written, "dossier_events": counts["dossier"], "stopped_early": stop[0],
            "rss_peak_during_load_mib": peak[0],
            "planning_aggregates": len(plans),
            "planning_events": counts["planning"], "reference_events": reference_events,
            "dossiers": dossiers, "years": years, "build_s": seconds,
            "publish_rate": written / seconds}


# --- 2. nats-server -----------------------------------------------------------------------------

def stop_server(server: NatsServer) -> None:
    """A clean shutdown, however long it takes (NatsServer.stop kills after 10 s)."""
    assert server.process is not None
    server.process.terminate()
    server.process.wait(timeout=600)
    server.process = None


async def stream_answers(url: str) -> None:
    while True:
        try:
            nc = await nats.connect(url, connect_timeout=2, allow_reconnect=False)
            try:
                await nc.jetstream(timeout=5).stream_info("DOSSIER")
                return
            finally:
                await nc.close()
        except Exception:  # noqa: BLE001 - not answering yet
            await asyncio.sleep(0.1)


async def nats_figures(server: NatsServer, store: Path) -> dict:
    await asyncio.sleep(5)  # let the last writes settle
    assert server.process is not None
    loaded = resident_mib(server.process.pid)
    stop_server(server)
    disk = size_mib(store / "jetstream")
    started = time.perf_counter()
    server.start(timeout=900)
    await stream_answers(server.url)
    restart_s = time.perf_counter() - started
    await asyncio.sleep(10)
    assert server.process is not None
    return {"rss_loaded_mib": loaded, "rss_restarted_mib": resident_mib(server.process.pid),
            "restart_s": restart_s, "disk_mib": disk}


# --- 3. rebuilds ------------------------------------------------------------------------------

def rebuild(url: str, database_url: str, context: str, budget_s: float | None) -> dict:
    budget = [] if budget_s is None else [str(budget_s)]
    out = subprocess.run(
        [sys.executable, str(HERE / "decade_rebuild.py"), url, database_url, context, *budget],
        stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


async def pg_size_mib(database_url: str) -> float:
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        return await conn.fetchval("SELECT pg_database_size(current_database())") / 2**20
    finally:
        await conn.close()


def sqlite_size_mib(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20


# --- 4. latency -------------------------------------------------------------------------------

async def latency(url: str, dbs: tuple[str, str, str], tmp: Path, years: int,
                  requests: int) -> dict:
    port, secret = free_port(), secrets.token_urlsafe(32)
    from cchc.gateway.auth import issue_token

    worker = subprocess.Popen([sys.executable, str(HERE / "decade_serve.py"), url, *dbs,
                               str(port), secret])
    token = issue_token(secret, "bench", "admin")
    year = log.START.year + (1 if years > 1 else 0)  # a whole year when the log has one
    agency = log.AGENCIES[0][0]
    queries = {
        "dossier-stats, the year, every agency": (
            "/api/v1/dossier-stats", {"from": f"{year}-01-01", "to": f"{year}-12-31"}),
        "dossier-stats, the year, one agency": (
            "/api/v1/dossier-stats",
            {"agency": agency, "from": f"{year}-01-01", "to": f"{year}-12-31"}),
        "agency report (JSON)": (
            "/api/v1/reports/agency", {"agency": agency, "year": year,
                                       "as_of": f"{year}-12-31"}),
    }
    out: dict = {}
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60,
                                     headers={"Authorization": f"Bearer {token}"}) as api:
            await wait_healthy(api, seconds=600)
            await asyncio.sleep(15)  # the services' small projections (planning) catch up
            for name, (path, params) in queries.items():
                answer = await api.get(path, params=params)
                if answer.status_code != 200:
                    raise RuntimeError(f"{name}: {answer.status_code} {answer.text[:500]}")
                body = answer.json()
                samples = []
                for _ in range(requests):
                    started = time.perf_counter()
                    answer = await api.get(path, params=params)
                    samples.append((time.perf_counter() - started) * 1000)
                    assert answer.status_code == 200, answer.text
                received = (body.get("dossiers") or body).get("received", {}).get("total")
                out[name] = {"p50_ms": statistics.median(samples),
                             "p99_ms": percentile(samples, 0.99), "requests": requests,
                             "received_total": received}
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(120)
        except subprocess.TimeoutExpired:
            worker.kill()
    return out


# --- the check --------------------------------------------------------------------------------

async def check(tmp: Path) -> None:
    """The same aggregates appended through EventStore.append on one server and published by
    this script on another: every stored message identical (subject, header block, body)."""
    from unittest import mock

    from cchc.contracts.envelope import EventEnvelope
    from cchc.contracts.events import event_model
    from cchc.runtime import eventstore
    from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata

    aggregates = [log.reference()[1], *log.planning(1)[:3], *(log.dossier(i) for i in range(8))]
    ours = NatsServer(store_dir=tmp / "check-ours").start()
    theirs = NatsServer(store_dir=tmp / "check-theirs").start()
    try:
        nc = await nats.connect(ours.url)
        for context in ("dossier", "planning"):
            await ensure_event_stream(nc.jetstream(), context)
        await publish(nc, aggregates, window=1)  # in order: the same sequences as below
        ours_raw = await raw_messages(nc)
        await nc.close()

        nc = await nats.connect(theirs.url)
        for context in ("dossier", "planning"):
            await ensure_event_stream(nc.jetstream(), context)
        store = EventStore(nc)
        for aggregate in aggregates:
            history = AggregateHistory(aggregate.context, aggregate.aggregate_id)
            for event, (_, body, _) in zip(aggregate.events, aggregate.sealed(), strict=True):
                mine = EventEnvelope.model_validate_json(body)
                model = event_model(event.type)
                clock = mock.Mock(wraps=datetime)
                clock.now.return_value = mine.recorded_at
                with mock.patch.object(eventstore, "datetime", clock):
                    appended = await store.append(
                        history, model.model_validate(event.payload), agency=aggregate.agency,
                        occurred_at=mine.occurred_at,
                        meta=Metadata(actor=mine.actor, correlation_id=mine.correlation_id,
                                      event_id=mine.event_id))
                history = history.followed_by(appended.envelope)
        theirs_raw = await raw_messages(nc)
        await nc.close()
    finally:
        ours.stop()
        theirs.stop()
    print("first stored message:", theirs_raw[0][0], theirs_raw[0][1], theirs_raw[0][2][:120])
    same = sum(x == y for x, y in zip(ours_raw, theirs_raw, strict=True))
    for x, y in zip(ours_raw, theirs_raw, strict=True):
        if x != y:
            print("DIFFERENT:\n ", x, "\n ", y)
    print(f"check: {len(ours_raw)} messages; identical (subject, header block, body) to "
          f"EventStore.append's: {same} of {len(theirs_raw)}")
    if same != len(ours_raw) or not ours_raw:
        raise SystemExit(1)


async def raw_messages(nc) -> list[tuple[str, bytes, bytes]]:  # type: ignore[no-untyped-def]
    """Every stored message of the dossier and planning streams, raw (subject, header block,
    body), in order of context then sequence."""
    import base64

    out = []
    for stream in ("DOSSIER", "PLANNING"):
        last = (await nc.jetstream().stream_info(stream)).state.last_seq
        for seq in range(1, last + 1):
            reply = await nc.request(f"$JS.API.STREAM.MSG.GET.{stream}",
                                     json.dumps({"seq": seq}).encode())
            message = json.loads(reply.data)["message"]
            out.append((message["subject"], base64.b64decode(message.get("hdrs", "")),
                        base64.b64decode(message["data"])))
    return out


# --- main -------------------------------------------------------------------------------------

async def main(args: argparse.Namespace) -> None:
    tmp = Path(args.workdir)
    tmp.mkdir(parents=True, exist_ok=True)
    if args.extrapolate:
        results = json.loads(Path(args.extrapolate).read_text())
        print_table(results)
        print_extrapolation(extrapolate(results))
        return
    if args.check:
        try:
            await check(tmp)
        finally:
            if not args.keep:
                shutil.rmtree(tmp, ignore_errors=True)
        return
    results: dict = {"events_asked": args.events, "started": datetime.now(UTC).isoformat()}
    store = tmp / "js"
    server = NatsServer(store_dir=store)
    pg_urls: list[str] = []
    try:
        server.start(timeout=900)
        await asyncio.sleep(2)
        assert server.process is not None
        empty_mib = resident_mib(server.process.pid)
        note(f"building the log: {args.events:,} events ...")
        results["log"] = await build(server, args.events, args.server_limit_gib * 1024)
        note(f"log: {json.dumps(results['log'])}")
        save(args, results)
        results["nats"] = {"rss_empty_mib": empty_mib, **await nats_figures(server, store)}
        note(f"nats-server: {json.dumps(results['nats'])}")
        save(args, results)
        results["rebuild"], results["latency"] = {}, {}
        for kind in args.databases:  # each database: its rebuilds, then the latency on it
            dbs = {}
            for context in ("dossier", "planning"):
                if kind == "sqlite":
                    path = tmp / f"{context}.db"
                    url = f"sqlite:///{path}"
                else:
                    url = await _new_pg(args.postgres, pg_urls)
                note(f"rebuild of {context} into {kind} ...")
                figures = rebuild(server.url, url, context,
                                  args.rebuild_budget if context == "dossier" else None)
                figures["db_mib"] = (sqlite_size_mib(path) if kind == "sqlite"
                                     else await pg_size_mib(url))
                figures["rate"] = figures["events"] / figures["seconds"]
                results["rebuild"][f"{context} {kind}"] = figures
                dbs[context] = url
                note(f"  {json.dumps(figures)}")
                save(args, results)
            if args.requests and not results["rebuild"][f"dossier {kind}"]["complete"]:
                note(f"no latency on {kind}: its dossier rebuild is partial (the service would "
                     "replay the rest while measured)")
            elif args.requests:
                note(f"latency on {kind} ...")
                scoring = (f"sqlite:///{tmp / 'scoring.db'}" if kind == "sqlite" else
                           await _new_pg(args.postgres, pg_urls))
                results["latency"][kind] = await latency(
                    server.url, (dbs["dossier"], dbs["planning"], scoring), tmp,
                    results["log"]["years"], args.requests)
                note(f"  {json.dumps(results['latency'][kind])}")
                save(args, results)
    finally:
        if server.process is not None:
            stop_server(server)
        if pg_urls:
            from cchc.runtime.testing import drop_database
            for url in pg_urls:
                await drop_database(args.postgres, url)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    results["finished"] = datetime.now(UTC).isoformat()
    save(args, results)
    print_table(results)
    print_extrapolation(extrapolate(results))


# --- the ten-year extrapolation -----------------------------------------------------------------

DOSSIERS_A_YEAR = 1_000_000
EVENTS_A_YEAR = 4 * DOSSIERS_A_YEAR + len(log.AGENCIES) * 200  # dossiers 4.0 each; plans, tasks


def extrapolate(r: dict, years=(1, 2, 5, 10)) -> list[dict]:  # type: ignore[no-untyped-def]
    """Every resource linear in what drives it, from the measured run: disk and rebuild time
    in events, nats-server memory after a restart in subjects (one per aggregate, above an
    empty server's), projection databases in dossier events (above an empty database)."""
    lg, nt, rb = r["log"], r["nats"], r["rebuild"]
    subjects = lg["dossiers"] + lg["planning_aggregates"] + lg["reference_events"]
    per_subject_mib = (nt["rss_restarted_mib"] - nt["rss_empty_mib"]) / subjects
    rows = []
    for year in years:
        events = EVENTS_A_YEAR * year
        dossiers = DOSSIERS_A_YEAR * year
        row = {"years": year, "events_m": events / 1e6, "dossiers_m": dossiers / 1e6,
               "disk_gib": nt["disk_mib"] / lg["events"] * events / 1024,
               "rss_restarted_gib": (nt["rss_empty_mib"] + per_subject_mib
                                     * (dossiers + year * 20 * 41)) / 1024,
               "rss_loaded_gib": nt["rss_loaded_mib"] / lg["events"] * events / 1024,
               "restart_s": nt["restart_s"] / lg["events"] * events}
        for kind, empty in (("sqlite", 0.0), ("postgres", 7.5)):
            figures = rb.get(f"dossier {kind}")
            if figures:
                row[f"rebuild_{kind}_h"] = 4 * dossiers / figures["rate"] / 3600
                row[f"db_{kind}_gib"] = ((figures["db_mib"] - empty) / figures["events"]
                                         * 4 * dossiers + empty) / 1024
        rows.append(row)
    return rows


def print_extrapolation(rows: list[dict], memory_gib: float = 24, disk_gib: float = 252) -> None:
    print("\nextrapolated (1M dossiers a year; linear in events / subjects / dossier events)\n")
    keys = list(rows[0])
    print("  ".join(f"{k:>17}" for k in keys))
    for row in rows:
        print("  ".join(f"{row[k]:>17,.1f}" for k in keys))
    one = rows[0]  # a year's growth (everything is linear)
    print(f"\nyears until nats-server alone (after the load) fills {memory_gib:.0f} GiB of "
          f"memory: {memory_gib / one['rss_loaded_gib']:.1f}")
    for kind in ("sqlite", "postgres"):
        if f"db_{kind}_gib" in one:
            yearly = one["disk_gib"] + one[f"db_{kind}_gib"]
            print(f"years until the JetStream store and the {kind} read model fill "
                  f"{disk_gib:.0f} GiB of disk: {disk_gib / yearly:.1f} "
                  f"({yearly:.1f} GiB a year)")


def save(args: argparse.Namespace, results: dict) -> None:
    """The figures so far (a run stopped half-way keeps what it measured)."""
    Path(args.out).write_text(json.dumps(results, indent=2))


async def _new_pg(server_url: str, urls: list[str]) -> str:
    from cchc.runtime.testing import create_database
    url = await create_database(server_url)
    urls.append(url)
    return url


def print_table(r: dict) -> None:
    lg, nt = r["log"], r["nats"]
    millions = lg["events"] / 1e6
    print(f"\n{lg['events']:,} events ({lg['dossier_events']:,} dossier, "
          f"{lg['planning_events']:,} planning; {lg['dossiers']:,} dossiers over "
          f"{lg['years']} year(s)); built in {lg['build_s']:.0f} s "
          f"({lg['publish_rate']:,.0f} events/s)\n")
    rows = [
        ("nats-server RSS, empty", f"{nt['rss_empty_mib']:,.0f} MiB"),
        ("nats-server RSS, peak during the load", f"{lg.get('rss_peak_during_load_mib', 0):,.0f} MiB"),
        ("nats-server RSS after the load (5 s idle)", f"{nt['rss_loaded_mib']:,.0f} MiB"),
        ("nats-server RSS after a restart", f"{nt['rss_restarted_mib']:,.0f} MiB"),
        ("nats-server restart (until stream info answers)", f"{nt['restart_s']:.1f} s"),
        ("JetStream store on disk", f"{nt['disk_mib']:,.0f} MiB "
                                    f"({nt['disk_mib'] / millions:,.0f} MiB per million events)"),
    ]
    for name, f in r["rebuild"].items():
        partial = "" if f.get("complete", True) else " (PARTIAL: stopped at its time budget)"
        rows.append((f"rebuild {name}", f"{f['events']:,} events in {f['seconds']:.0f} s, "
                                        f"{f['rate']:,.0f}/s, peak {f['peak_mib']:.0f} MiB, "
                                        f"database {f['db_mib']:,.0f} MiB{partial}"))
    for kind, queries in r["latency"].items():
        for name, f in queries.items():
            rows.append((f"{name} ({kind})", f"p50 {f['p50_ms']:.1f} ms, p99 {f['p99_ms']:.1f} ms"
                                             f" ({f['requests']} requests)"))
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--check", action="store_true",
                        help="compare stored messages with EventStore.append's, then exit")
    parser.add_argument("--extrapolate", metavar="JSON",
                        help="print the tables of a saved run (--out) and the ten-year "
                        "extrapolation, then exit")
    parser.add_argument("--server-limit-gib", type=float, default=14.0,
                        help="stop adding dossiers when nats-server's memory passes this")
    parser.add_argument("--databases", nargs="*", default=["sqlite", "postgres"],
                        choices=["sqlite", "postgres"])
    parser.add_argument("--requests", type=int, default=100,
                        help="requests per latency figure (0: no latency)")
    parser.add_argument("--rebuild-budget", type=float, default=None,
                        help="seconds a dossier rebuild may take; then it stops, partial")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--workdir", default="/work/tmp-decade")
    parser.add_argument("--out", default="/tmp/decade.json")
    parser.add_argument("--keep", action="store_true", help="keep the data under --workdir")
    asyncio.run(main(parser.parse_args()))
