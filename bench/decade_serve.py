"""The dossier, planning and scoring services and the gateway on an existing log and read
models, in a process of their own (bench/decade.py measures the gateway's latency from another).

    python bench/decade_serve.py NATS_URL DOSSIER_DB PLANNING_DB SCORING_DB PORT SECRET

Serves until SIGTERM. The dossier and planning read models are the rebuilt ones (caught up).
The scoring service starts on a fresh database whose dossier-metrics projection is set to the
head of the dossier stream: replaying 10M dossier events into the auto criteria's metric tables
is another rebuild, not what the report's latency is about (the report reads scoring's published
index results, of which this log has none).
"""

import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator

import nats
import uvicorn

from cchc.dossier.config import DossierSettings
from cchc.dossier.main import DossierService
from cchc.gateway.app import create_app
from cchc.gateway.config import GatewaySettings
from cchc.planning.config import PlanningSettings
from cchc.planning.main import PlanningService
from cchc.runtime import checkpoints
from cchc.runtime.sqldb import create_engine
from cchc.scoring.config import ScoringSettings
from cchc.scoring.main import ScoringService, projection_runners


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the worker handles SIGTERM itself
        yield


async def skip_dossier_metrics(nats_url: str, database_url: str) -> None:
    nc = await nats.connect(nats_url)
    head = (await nc.jetstream().stream_info("DOSSIER")).state.last_seq
    engine = create_engine(database_url)
    runners = projection_runners(nc, engine)
    for runner in runners:
        await runner.setup()
    async with engine.begin() as conn:
        await checkpoints.write_checkpoint(conn, runners[1].name, head)
    await engine.dispose()
    await nc.close()


async def main(nats_url: str, dossier_db: str, planning_db: str, scoring_db: str, port: int,
               secret: str) -> None:
    await skip_dossier_metrics(nats_url, scoring_db)
    services = [
        DossierService(DossierSettings(nats_url=nats_url, database_url=dossier_db)),
        PlanningService(PlanningSettings(nats_url=nats_url, database_url=planning_db)),
        ScoringService(ScoringSettings(nats_url=nats_url, database_url=scoring_db)),
    ]
    for service in services:
        await service.start()
    app = create_app(GatewaySettings(nats_url=nats_url, jwt_secret=secret,
                                     services=["dossier", "planning", "scoring"], port=port))
    server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    asyncio.get_running_loop().add_signal_handler(
        signal.SIGTERM, lambda: setattr(server, "should_exit", True))
    await server.serve()
    for service in services:
        await service.stop()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]),
                     sys.argv[6]))
