"""nats-server memory under subject scheme 1 and 2, the same dossiers, in one run.

    .venv/bin/python bench/subject_memory.py                  # 500,000 dossiers, ~2M events
    .venv/bin/python bench/subject_memory.py --dossiers 50000 # a quick look

Two nats-servers, one per scheme, each given the same events (3 to 5 per dossier, 300-byte
bodies, the proportions of a dossier's life) on its DOSSIER stream: scheme 1 on
``cchc.dossier.<agency>.<dossier>.<EventType>``, scheme 2 on ``cchc.dossier.<agency>.<dossier>``.
Each server is then restarted (the state it rebuilds from its files is what it keeps for ever)
and its resident memory read from /proc. Not part of the test run.
"""

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import nats

from cchc.runtime.natsserver import NatsServer
from cchc.runtime.streams import event_stream_config

from broker_load import AGENCIES, LIVES, publish_acked, resident_mib  # bench/, beside this

BODY = b"x" * 300


def subjects(dossiers: int, scheme: int):  # type: ignore[no-untyped-def]
    for number in range(dossiers):
        base = f"cchc.dossier.{AGENCIES[number % len(AGENCIES)]}.d{number:09d}"
        for event_type in LIVES[number % len(LIVES)]:
            yield base if scheme == 2 else f"{base}.{event_type}"


async def fill(server: NatsServer, dossiers: int, scheme: int) -> int:
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    config = event_stream_config("dossier")
    config.subjects = ["cchc.dossier.>"]  # today's stream stores scheme 2 only; this one both
    await js.add_stream(config)
    sent = await publish_acked(nc, ((subject, BODY, None)
                                    for subject in subjects(dossiers, scheme)))
    info = await js.stream_info("DOSSIER")
    await nc.close()
    if info.state.messages != sent:
        raise RuntimeError(f"{sent} sent, {info.state.messages} stored")
    return info.state.messages


async def measure(folder: Path, dossiers: int, scheme: int) -> dict:
    server = NatsServer(store_dir=folder / f"scheme{scheme}").start()
    try:
        events = await fill(server, dossiers, scheme)
        before = resident_mib(server.process.pid)
        server.stop()
        started = time.perf_counter()
        server.start(timeout=300)
        restart_s = time.perf_counter() - started
        await asyncio.sleep(2)  # let it settle after recovery
        after = resident_mib(server.process.pid)
        disk = sum(p.stat().st_size for p in (folder / f"scheme{scheme}").rglob("*") if p.is_file())
    finally:
        server.stop()
    return {"scheme": scheme, "events": events, "rss_before_mib": before,
            "rss_after_restart_mib": after, "restart_s": restart_s, "disk_mib": disk / 2**20}


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        rows = [await measure(Path(folder), args.dossiers, scheme) for scheme in (1, 2)]
    print(f"\n{args.dossiers} dossiers\n")
    print(f"{'scheme':<8} {'events':>10} {'RSS filled':>11} {'RSS restarted':>14} "
          f"{'restart':>8} {'disk':>9}")
    for row in rows:
        print(f"{row['scheme']:<8} {row['events']:>10} {row['rss_before_mib']:>9.0f} M "
              f"{row['rss_after_restart_mib']:>12.0f} M {row['restart_s']:>7.1f}s "
              f"{row['disk_mib']:>7.0f} M")
    ratio = rows[1]["rss_after_restart_mib"] / rows[0]["rss_after_restart_mib"]
    print(f"\nscheme 2 / scheme 1 memory after restart: {ratio:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=500_000)
    asyncio.run(main(parser.parse_args()))
