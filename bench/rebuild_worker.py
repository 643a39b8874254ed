"""One rebuild of the dossier read model, in a process of its own so its peak memory is its own.

    python bench/rebuild_worker.py NATS_URL DATABASE_URL

With CCHC_BENCH_REPLAY_READER=off, the log is read in the same process (no reader process).

Prints one JSON line: events applied, seconds, peak resident memory (MiB) of the process or of
its replay reader (whichever is larger), and the CPU seconds each used.
"""

import asyncio
import json
import os
import resource
import sys
import time

from cchc.runtime import nats_credentials

from cchc.dossier.projections import DossierReadModel
from cchc.runtime.heap import settle_heap
from cchc.runtime.projection import REPLAY_READER_FROM, ProjectionRunner
from cchc.runtime.sqldb import create_engine


async def main(nats_url: str, database_url: str) -> None:
    nc = await nats_credentials.connect(nats_url)  # as the services and `cchc rebuild` connect
    engine = create_engine(database_url)
    reader = os.environ.get("CCHC_BENCH_REPLAY_READER", "on") == "on"
    runner = ProjectionRunner(nc, engine, DossierReadModel(), batch_size=1000,
                              consumer_name="bench-rebuild",
                              replay_reader_from=REPLAY_READER_FROM if reader else None)
    await runner.drop()
    settle_heap()  # as a service does once started (cchc.runtime.heap)
    started = time.perf_counter()
    events = await runner.catch_up()
    seconds = time.perf_counter() - started
    await engine.dispose()
    await nc.close()
    own, children = (resource.getrusage(who) for who in (resource.RUSAGE_SELF,
                                                         resource.RUSAGE_CHILDREN))
    print(json.dumps({"events": events, "seconds": seconds,
                      "peak_mib": max(own.ru_maxrss, children.ru_maxrss) / 1024,
                      "cpu_s": own.ru_utime + own.ru_stime,
                      "reader_cpu_s": children.ru_utime + children.ru_stime}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
