"""One rebuild of the dossier read model, in a process of its own so its peak memory is its own.

    python bench/rebuild_worker.py NATS_URL DATABASE_URL

Prints one JSON line: events applied, seconds, peak resident memory (MiB).
"""

import asyncio
import json
import resource
import sys
import time

import nats

from cchc.dossier.projections import DossierReadModel
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine


async def main(nats_url: str, database_url: str) -> None:
    nc = await nats.connect(nats_url)
    engine = create_engine(database_url)
    runner = ProjectionRunner(nc, engine, DossierReadModel(), batch_size=1000,
                              consumer_name="bench-rebuild")
    await runner.drop()
    started = time.perf_counter()
    events = await runner.catch_up()
    seconds = time.perf_counter() - started
    await engine.dispose()
    await nc.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"events": events, "seconds": seconds, "peak_mib": peak_mib}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
