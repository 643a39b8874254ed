"""One rebuild of a read model (dossier or planning), in a process of its own (bench/decade.py).

    python bench/decade_rebuild.py NATS_URL DATABASE_URL dossier|planning [BUDGET_S]

Like bench/rebuild_worker.py, with the planning read model too and a progress line every
million events on stderr. With BUDGET_S it stops after the batch that passes that many seconds
(a partial rebuild: "complete" false). Prints one JSON line: events applied, seconds, peak
resident memory (MiB), whether it reached the head of the stream.
"""

import asyncio
import json
import resource
import sys
import time

import nats

from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine


def read_model(context: str):  # type: ignore[no-untyped-def]
    if context == "dossier":
        from cchc.dossier.projections import DossierReadModel
        return DossierReadModel()
    from cchc.planning.projections import PlanningReadModel
    return PlanningReadModel()


class OutOfTime(Exception):
    pass


async def main(nats_url: str, database_url: str, context: str, budget_s: float) -> None:
    nc = await nats.connect(nats_url)
    engine = create_engine(database_url)
    runner = ProjectionRunner(nc, engine, read_model(context), batch_size=1000,
                              consumer_name=f"bench-rebuild-{context}")
    await runner.drop()
    started = time.perf_counter()
    shown = [0]

    def progress(position: int, target: int) -> None:
        if position - shown[0] >= 1_000_000:
            shown[0] = position
            print(f"  {context}: {position:,} / {target:,} in "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        if time.perf_counter() - started > budget_s:
            raise OutOfTime

    complete = True
    try:
        events = await runner.catch_up(progress)
    except OutOfTime:
        events, complete = runner.position, False
    seconds = time.perf_counter() - started
    await runner.close()
    await engine.dispose()
    await nc.close()
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"events": events, "seconds": seconds, "peak_mib": peak_mib,
                      "complete": complete}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3],
                     float(sys.argv[4]) if len(sys.argv) > 4 else float("inf")))
