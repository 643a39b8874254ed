"""Every benchmark of issue 7 in one run, printed as one table (not part of the test suite).

    .venv/bin/python bench/run.py                       # a million dossiers: ~13 minutes on 2 cores
    .venv/bin/python bench/run.py --dossiers 50000      # a quick look
    .venv/bin/python bench/run.py --only api --dossiers 20000   # the API part alone (~1-2 min)

With ``--only api`` the append benchmark, the raw replay and the PostgreSQL rebuild are skipped
(the SQLite rebuild stays: the API serves that read model). ``CCHC_BENCH_PROFILE=<file>`` makes
the serve worker write a pyinstrument profile of the 16-client receipts there (pyinstrument
installed by hand: it is no requirement).

1. Append: events per second through EventStore.append (optimistic concurrency, de-duplication,
   hash chain) next to raw nats-py JetStream publish on the same server in the same run,
   1 and 32 concurrent writers; nats-server with sync_interval: always, as deployed.
2. The data set: ``--dossiers`` dossier histories (received; every third resolved) appended
   through the event store into a second nats-server (default sync: only how fast the data set
   is made depends on it), with a user, as every installation's: every process below logs in.
3. Rebuild: the dossier read model replayed from that log into SQLite and into PostgreSQL, each
   in a process of its own: events per second and peak resident memory, and each as a share of
   the raw read of the same stream in the same run (ordered consumer, JSON decode only).
4. API: the dossier service and the gateway on that log and the rebuilt SQLite read model,
   first in one process (as the embedded ``cchc up`` runs them), then in a process each (as
   compose and Kubernetes do, each on its deployed event loop: bench/serve_worker.py); the load
   generator in another process on loopback (bench/load.py): receive-dossier and dossier-stats
   (the year 2022, every agency; one process only) requests per second with p50 / p99 latency;
   command to projection: from a command's acknowledgement to the batch holding its event
   applied (p50 / p99), for the read model and for the alerts projection; and the CPU each
   process spent per receipt.
"""

import argparse
import asyncio
import json
import os
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import nats
from tqdm import tqdm

from cchc.dossier.alert_projection import DossierAlertsProjection
from cchc.dossier.projections import DossierReadModel
from cchc.gateway.auth import issue_token
from cchc.runtime import nats_credentials
from cchc.runtime.eventstore import EventStore
from cchc.runtime.natsserver import NatsServer, free_port
from cchc.runtime.streams import ensure_event_stream, event_stream_config
from cchc.runtime.testing import create_database, drop_database

sys.path.insert(0, str(Path(__file__).parent))
from broker_load import wait_healthy  # noqa: E402
from dataset import append_dossiers, dossier_events  # noqa: E402

HERE = Path(__file__).parent
Row = tuple[str, str, str, str]  # measure, n, rate, latency or memory


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def raw_publish(js, count: int, writers: int, payload: bytes) -> int:  # type: ignore[no-untyped-def]
    remaining = [count]

    async def writer() -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            await js.publish(f"bench.{remaining[0]}", payload, stream="BENCH")

    await asyncio.gather(*(writer() for _ in range(writers)))
    return count


async def append_benchmark(tmp: Path, events: int) -> list[Row]:
    conf = tmp / "sync-always.conf"
    conf.write_text("jetstream { sync_interval: always }\n")
    server = NatsServer(store_dir=tmp / "append-js", config_file=conf).start()
    rows: list[Row] = []
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        await ensure_event_stream(js, "dossier")
        twin = event_stream_config("dossier")  # same settings, its own subjects
        twin.name, twin.subjects = "BENCH", ["bench.>"]
        await js.add_stream(twin)
        payload = next(dossier_events(0)).model_dump_json().encode() * 2
        store = EventStore(nc)
        offset = 0
        for writers in (1, 32):
            started = time.perf_counter()
            await raw_publish(js, events, writers, payload)
            raw = events / (time.perf_counter() - started)
            started = time.perf_counter()
            dossiers = range(offset, offset + events // 2)
            written = await append_dossiers(store, dossiers, writers)
            offset += events
            appended = written / (time.perf_counter() - started)
            rows.append((f"raw nats-py publish, {writers} writer(s)", str(events), f"{raw:.0f}/s",
                         ""))
            rows.append((f"EventStore.append, {writers} writer(s)", str(written),
                         f"{appended:.0f}/s", f"{appended / raw:.0%} of raw"))
        await nc.close()
    finally:
        server.stop()
    return rows


async def make_data_set(url: str, dossiers: int) -> int:
    nc = await nats_credentials.connect(url)
    await ensure_event_stream(nc.jetstream(), "dossier")
    with tqdm(total=dossiers, unit="dossier", desc="data set") as bar:
        events = await append_dossiers(EventStore(nc), range(dossiers), 64, resolved_every=3,
                                       progress=bar.update)
    await nc.close()
    return events


def data_server(tmp: Path) -> tuple[NatsServer, str]:
    """The data set's nats-server, with a user as every installation's has (a replay's reader
    process logging in as nobody went unseen while this one had none), and its URL as that
    user: the workers connect with it as the services do (``cchc.runtime.nats_credentials``)."""
    password = secrets.token_urlsafe(16)
    conf = tmp / "data-users.conf"
    conf.write_text(f'authorization {{ users: [ {{ user: "bench", password: "{password}" }} ] }}\n')
    server = NatsServer(store_dir=tmp / "data-js", config_file=conf).start()
    return server, f"nats://bench:{password}@{server.host}:{server.port}"


def rebuild(url: str, database_url: str) -> dict:
    out = subprocess.run(
        [sys.executable, str(HERE / "rebuild_worker.py"), url, database_url],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def raw_replay(url: str) -> dict:
    """The same stream read with nats-py's ordered consumer, JSON-decoded, nothing else."""
    out = subprocess.run([sys.executable, str(HERE / "replay_worker.py"), url],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def load(base: str, token: str, scenario: str, requests: int, concurrency: int) -> dict:
    out = subprocess.run(
        [sys.executable, str(HERE / "load.py"), base, token, scenario, str(requests),
         str(concurrency)], capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout)


def latency_row(name: str, result: dict) -> Row:
    samples = result["latencies_ms"]
    errors = {k: v for k, v in result["statuses"].items() if not k.startswith("2")}
    note = f"p50 {statistics.median(samples):.1f} ms, p99 {percentile(samples, 0.99):.1f} ms"
    if errors:
        note += f", errors {errors}"
    return (name, str(result["requests"]), f"{result['requests'] / result['seconds']:.0f}/s",
            note)


async def api_benchmark(tmp: Path, server: NatsServer, url: str, database_url: str
                        ) -> list[Row]:
    """The API rows, first with the gateway and the dossier service in one process (the
    embedded default), then in a process each (as compose and Kubernetes run them)."""
    rows = await serve_and_load(tmp / "one", server, url, database_url, apart=False)
    return rows + await serve_and_load(tmp / "apart", server, url, database_url, apart=True)


async def serve_and_load(tmp: Path, server: NatsServer, url: str, database_url: str,
                         apart: bool) -> list[Row]:
    tmp.mkdir()
    port, secret = free_port(), secrets.token_urlsafe(32)
    applied_file = tmp / "applied.json"
    arguments = [url, database_url, str(port), secret, str(applied_file)]
    workers = []
    if apart:
        workers.append(subprocess.Popen([sys.executable, str(HERE / "serve_worker.py"),
                                         "service", *arguments]))
        while not Path(f"{applied_file}.ready").exists():
            if workers[0].poll() is not None:
                raise RuntimeError("the dossier service's serve worker stopped")
            await asyncio.sleep(0.5)
    workers.append(subprocess.Popen([sys.executable, str(HERE / "serve_worker.py"),
                                     "gateway" if apart else "all", *arguments]))
    where = " (gateway apart)" if apart else ""
    base = f"http://127.0.0.1:{port}"
    token = issue_token(secret, "bench", "admin")
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     headers={"Authorization": f"Bearer {token}"}) as api:
            await wait_healthy(api)
            await api.post("/api/v1/agencies", json={"code": "BENCH", "name": "Sở Thử nghiệm",
                                                     "group": "department"})
            answer = await api.post("/api/v1/procedures", json={
                "code": "BENCH.1", "name": "Thủ tục thử", "agency": "BENCH", "field": "f",
                "processing_days": 5, "online_level": "full"})
            assert answer.status_code in (201, 409), answer.text
        rows = []
        if not apart:
            rows += [latency_row("dossier-stats, 1 client", load(base, token, "stats", 200, 1)),
                     latency_row("dossier-stats, 8 clients", load(base, token, "stats", 200, 8))]
        receive_1 = load(base, token, "receive", 500, 1)
        profiling = bool(os.environ.get("CCHC_BENCH_PROFILE"))
        if profiling:
            for worker in workers:
                worker.send_signal(signal.SIGUSR1)
        assert server.process is not None
        serving = [worker.pid for worker in workers]
        cpu_before = ([cpu_seconds(pid) for pid in serving]
                      + [cpu_seconds(server.process.pid), children_cpu()])
        print(f"receipts at 16 clients{where} from {time.time():.2f}", file=sys.stderr)
        receive_16 = load(base, token, "receive", 2000, 16)
        print(f"receipts at 16 clients{where} until {time.time():.2f}", file=sys.stderr)
        cpu_after = ([cpu_seconds(pid) for pid in serving]
                     + [cpu_seconds(server.process.pid), children_cpu()])
        *serve_ms, nats_ms, load_ms = (
            (after - before) / receive_16["requests"] * 1000
            for before, after in zip(cpu_before, cpu_after, strict=True))
        if profiling:
            for worker in workers:
                worker.send_signal(signal.SIGUSR2)
            await asyncio.sleep(2)  # the workers write their profiles
    finally:
        for worker in reversed(workers):
            worker.send_signal(signal.SIGTERM)
            worker.wait(60)
    applied = json.loads(applied_file.read_text())
    read_model, alerts = DossierReadModel.name, DossierAlertsProjection.name
    split = f" = service {serve_ms[0]:.2f} + gateway {serve_ms[1]:.2f}" if apart else ""
    return rows + [
        latency_row(f"receive-dossier, 1 client{where}", receive_1),
        latency_row(f"receive-dossier, 16 clients{where}", receive_16),
        # The read model is what a read with X-Min-Position waits for; the alerts projection
        # (due-date warnings) follows the same events beside it.
        to_projection_row(f"command ack -> read model, 1 client{where}", receive_1, applied,
                          read_model),
        to_projection_row(f"command ack -> read model, 16 clients{where}", receive_16, applied,
                          read_model),
        to_projection_row(f"command ack -> alerts, 16 clients{where}", receive_16, applied,
                          alerts),
        # Less sensitive than the rates to what else runs on the machine.
        (f"serve CPU per receipt, 16 clients{where}", str(receive_16["requests"]), "",
         f"{sum(serve_ms):.2f} ms{split} (nats-server {nats_ms:.2f} ms, load generator "
         f"{load_ms:.2f} ms)"),
    ]


def children_cpu() -> float:
    """CPU time of this process's finished children (the load generator, once it ended)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def to_projection_row(name: str, load_result: dict, applied: list[list], projection: str) -> Row:
    """From each acknowledged command to the first batch of ``projection`` that held its
    event, applied."""
    batches = sorted((p, t) for n, p, t in applied if n == projection)
    latencies = []
    for position, acknowledged_at in load_result["acknowledged"]:
        done = next((t for p, t in batches if p >= position), None)
        if done is not None:
            latencies.append(max(done - acknowledged_at, 0) * 1000)
    row = latency_row(name, {"requests": len(latencies), "seconds": 1.0, "statuses": {},
                             "latencies_ms": latencies})
    return (row[0], row[1], "", row[3])


def commit() -> str:
    """The commit the figures belong to (with '+' when the work tree has changes)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=HERE,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=HERE, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("+" if dirty.strip() else "")


async def main(args: argparse.Namespace) -> None:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        if args.only == "all":
            print("append ...", flush=True)
            rows += await append_benchmark(tmp, args.append_events)
        server, url = data_server(tmp)
        try:
            events = await make_data_set(url, args.dossiers)
            sqlite_url = f"sqlite:///{tmp / 'dossier.db'}"
            raw_rate = 0.0
            if args.only == "all":
                print("raw replay ...", flush=True)
                raw = raw_replay(url)
                raw_rate = raw["events"] / raw["seconds"]
                rows.append(("raw replay (ordered consumer, JSON)", str(raw["events"]),
                             f"{raw_rate:.0f}/s", f"peak {raw['peak_mib']:.0f} MiB"))
            for kind in ("sqlite", "postgres") if args.only == "all" else ("sqlite",):
                print(f"rebuild into {kind} ...", flush=True)
                database = (sqlite_url if kind == "sqlite"
                            else await create_database(args.postgres))
                result = rebuild(url, database)
                rate = result["events"] / result["seconds"]
                share = f", {rate / raw_rate:.0%} of raw replay" if raw_rate else ""
                cpu = (f", CPU {result['cpu_s'] / result['events'] * 1e6:.0f} + "
                       f"{result['reader_cpu_s'] / result['events'] * 1e6:.0f} us/event "
                       f"(projection + reader)")
                rows.append((f"rebuild into {kind}", str(result["events"]), f"{rate:.0f}/s",
                             f"peak {result['peak_mib']:.0f} MiB{share}{cpu}"))
                if kind == "postgres":
                    await drop_database(args.postgres, database)
            print(f"API at {args.dossiers} dossiers ({events} events) ...", flush=True)
            rows += await api_benchmark(tmp, server, url, sqlite_url)
        finally:
            server.stop()
    print(f"\n{args.dossiers} dossiers, {events} dossier events, commit {commit()}\n")
    print(f"{'measure':<56} {'n':>9} {'rate':>9}  latency / memory / ratio")
    for name, n, rate, note in rows:
        print(f"{name:<56} {n:>9} {rate:>9}  {note}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=1_000_000)
    parser.add_argument("--append-events", type=int, default=20_000)
    parser.add_argument("--only", choices=("all", "api"), default="all",
                        help="api: only the data set, the SQLite rebuild and the API part")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
