"""Full and differential backups of one event log: their size on disk and how long each takes to
take and to restore. Not part of the test run.

    .venv/bin/python bench/backup_size.py                                # 200,000 dossiers, days of 2,000
    .venv/bin/python bench/backup_size.py --dossiers 20000 --per-day 500 # a quick look

One nats-server; DOSSIER gets ``--dossiers`` dossiers through the event store (the data set of
``bench/run.py``: three receipts to a resolution), then a full backup is taken. Then a day's
dossiers (``--per-day``) and a differential backup, five days more and another: the sixth
differential backup of a week, the largest. Each of the three is restored into a fresh server
of its own, and the restored stream compared with the original's state.
"""

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nats

from cchc.runtime import backups
from cchc.runtime.eventstore import EventStore
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.streams import ensure_event_stream

sys.path.insert(0, str(Path(__file__).parent))
from dataset import append_dossiers  # noqa: E402


def size_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20


async def append(url: str, dossiers: range) -> int:
    nc = await nats.connect(url)
    try:
        await ensure_event_stream(nc.jetstream(), "dossier")
        return await append_dossiers(EventStore(nc), dossiers, 64, resolved_every=3)
    finally:
        await nc.close()


async def take(url: str, folder: Path, base: Path | None) -> float:
    nc = await nats.connect(url)
    try:
        started = time.perf_counter()
        full = backups.FullBackup.checked(base) if base is not None else None
        await backups.create(nc, folder, report=lambda line: None, base=full)
        return time.perf_counter() - started
    finally:
        await nc.close()


async def restored(tmp: Path, folder: Path) -> tuple[float, int]:
    """Seconds to restore ``folder`` into a fresh server, and DOSSIER's last position there."""
    server = NatsServer(store_dir=tmp / f"restored-{folder.name}").start()
    try:
        nc = await nats.connect(server.url)
        started = time.perf_counter()
        await backups.restore(nc, folder, None, report=lambda line: None)
        seconds = time.perf_counter() - started
        last = (await nc.jetstream().stream_info("DOSSIER")).state.last_seq
        await nc.close()
        return seconds, last
    finally:
        server.stop()
        shutil.rmtree(tmp / f"restored-{folder.name}")


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="cchc-bench-backup-") as scratch:
        tmp = Path(scratch)
        server = NatsServer(store_dir=tmp / "js").start()
        rows = []
        try:
            written = await append(server.url, range(args.dossiers))
            full = tmp / "backups" / "full"
            seconds = await take(server.url, full, None)
            rows.append(("full", written, 0, seconds, full))
            start = args.dossiers
            for name, days in (("day 1", 1), ("day 6", 5)):
                added = await append(server.url, range(start, start + days * args.per_day))
                start += days * args.per_day
                written += added
                folder = tmp / "backups" / name.replace(" ", "-")
                seconds = await take(server.url, folder, full)
                rows.append((f"differential, {name}", written, start - args.dossiers,
                             seconds, folder))
            nc = await nats.connect(server.url)
            head = (await nc.jetstream().stream_info("DOSSIER")).state.last_seq
            await nc.close()
        finally:
            server.stop()
        print(f"| backup | log (events) | dossiers since the full one | size | taken in | "
              f"restored in | restored head |")
        print("|---|---|---|---|---|---|---|")
        for kind, events, since, seconds, folder in rows:
            restore_s, last = await restored(tmp, folder)
            print(f"| {kind} | {events:,} | {since:,} | {size_mib(folder):.1f} MiB | "
                  f"{seconds:.1f} s | {restore_s:.1f} s | {last:,} |")
        print(f"(the original's head: {head:,})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=200_000)
    parser.add_argument("--per-day", type=int, default=2_000)
    asyncio.run(main(parser.parse_args()))
