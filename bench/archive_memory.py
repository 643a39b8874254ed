"""nats-server memory before and after a closed year is archived (``cchc archive create``).

    .venv/bin/python bench/archive_memory.py                    # 2 x 250,000 dossiers
    .venv/bin/python bench/archive_memory.py --dossiers 20000   # a quick look

One nats-server; its DOSSIER stream gets two years of dossiers (2022 and 2023, ``--dossiers``
each, 20 agencies, 3 to 5 events each in a dossier's proportions: real envelopes, hash-chained,
published with acknowledgements, 2,000 in flight). The server is restarted and its resident
memory read; then 2022 is archived as ``cchc archive create dossier 2022`` does, the server
restarted again and its memory read. Also: how long the archive took, the archive's size in the
bucket, the stream's subjects before and after. Not part of the test run.
"""

import argparse
import asyncio
import json
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats

from cchc.contracts.envelope import GENESIS_HASH, EventEnvelope
from cchc.contracts.subjects import EVENT_TYPE_HEADER
from cchc.dossier.archiving import DOSSIER_ARCHIVE
from cchc.runtime.archive_store import ArchiveShelf
from cchc.runtime.archiving import archive_year
from cchc.runtime.ids import new_id
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.streams import event_stream_config

from broker_load import AGENCIES, LIVES, publish_acked, resident_mib  # bench/, beside this



def dossier_envelopes(number: int, year: int, dossiers: int):  # type: ignore[no-untyped-def]
    """One dossier's events: received during ``year``, each a day after the one before."""
    start = datetime(year, 1, 2, 2, tzinfo=UTC) + timedelta(days=360 * number / dossiers)
    agency, aggregate = AGENCIES[number % len(AGENCIES)], new_id()
    previous = GENESIS_HASH
    for version, kind in enumerate(LIVES[number % len(LIVES)], start=1):
        moment = start + timedelta(days=version - 1)
        envelope = EventEnvelope(
            event_id=new_id(), type=kind, schema_version=1, context="dossier", agency=agency,
            aggregate_id=aggregate, aggregate_version=version, occurred_at=moment,
            recorded_at=moment, actor="bench", correlation_id="bench",
            payload={"note": "x" * 120},
        ).sealed(previous)
        previous = envelope.hash
        yield f"cchc.dossier.{agency}.{aggregate}", envelope


async def fill(url: str, dossiers: int) -> int:
    nc = await nats.connect(url)
    await nc.jetstream().add_stream(event_stream_config("dossier"))
    messages = ((subject, envelope.to_bytes(),
                 {EVENT_TYPE_HEADER: envelope.type, "Nats-Msg-Id": envelope.event_id})
                for year in (2022, 2023) for number in range(dossiers)
                for subject, envelope in dossier_envelopes(number, year, dossiers))
    sent = await publish_acked(nc, messages)
    await nc.close()
    return sent


async def restarted_rss(server: NatsServer) -> tuple[float, float]:
    server.stop()
    started = time.perf_counter()
    server.start(timeout=600)
    restart_s = time.perf_counter() - started
    await asyncio.sleep(2)
    return resident_mib(server.process.pid), restart_s


async def subjects(url: str) -> int:
    nc = await nats.connect(url)
    try:
        info = await nc.request("$JS.API.STREAM.INFO.DOSSIER", b"", timeout=10)
        return json.loads(info.data)["state"]["num_subjects"]
    finally:
        await nc.close()


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        server = NatsServer(store_dir=Path(folder) / "js").start()
        try:
            events = await fill(server.url, args.dossiers)
            before_rss, before_restart = await restarted_rss(server)
            before_subjects = await subjects(server.url)
            nc = await nats.connect(server.url)
            started = time.perf_counter()
            result = await archive_year(nc, "dossier", 2022, DOSSIER_ARCHIVE, by="bench",
                                        progress=print)
            archive_s = time.perf_counter() - started
            assert result.manifest is not None
            bucket = await nc.jetstream().object_store("CCHC_ARCHIVE")
            size = (await bucket.get_info(f"{result.manifest.prefix}/events.jsonl.gz")).size
            manifests = await ArchiveShelf(nc).manifests()
            await nc.close()
            after_rss, after_restart = await restarted_rss(server)
            after_subjects = await subjects(server.url)
        finally:
            server.stop()
    print(f"\n2 x {args.dossiers} dossiers, {events} events; 2022 archived: "
          f"{result.manifest.events} events of {result.manifest.aggregates} dossiers "
          f"in {archive_s:.0f} s ({result.manifest.events / archive_s:.0f} events/s), "
          f"{size / 2**20:.0f} MiB in the bucket ({len(manifests)} archive)\n")
    print(f"{'':<18} {'subjects':>9} {'RSS restarted':>14} {'restart':>8}")
    print(f"{'before archiving':<18} {before_subjects:>9} {before_rss:>12.0f} M "
          f"{before_restart:>7.1f}s")
    print(f"{'after archiving':<18} {after_subjects:>9} {after_rss:>12.0f} M "
          f"{after_restart:>7.1f}s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dossiers", type=int, default=250_000)
    asyncio.run(main(parser.parse_args()))
