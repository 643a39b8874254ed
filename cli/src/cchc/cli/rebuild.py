"""Rebuild a service's read model from the log, with a progress bar.

Runs on a stopped installation: it starts its own nats-server on the data folder, so it refuses
while `cchc up` holds the folder. Each projection is rebuilt where its version lives (its own
namespace, or the default one: ``cchc.runtime.projection_upgrade``).
"""

import sys
from pathlib import Path

from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from cchc.runtime import nats_credentials
from cchc.cli.installation import Installation, InstallationBusy
from cchc.dossier.alert_projection import DossierAlertsProjection
from cchc.dossier.projections import DossierReadModel
from cchc.planning.projections import PlanningReadModel
from cchc.runtime.heap import settle_heap
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.projection_upgrade import engine_of_version
from cchc.runtime.sqldb import create_engine
from cchc.scoring.main import projection_runners as scoring_runners


def _runners(service: str, nc: NATS, engine: AsyncEngine) -> list[ProjectionRunner]:
    if service == "dossier":
        return [ProjectionRunner(nc, engine, DossierReadModel()),
                ProjectionRunner(nc, engine, DossierAlertsProjection())]
    if service == "planning":
        return [ProjectionRunner(nc, engine, PlanningReadModel())]
    return list(scoring_runners(nc, engine))


SERVICES = ["dossier", "planning", "scoring"]


async def rebuild(data_dir: Path, service: str) -> int:
    installation = Installation(data_dir.resolve())
    try:
        with installation.offline_nats() as url:
            nc = await nats_credentials.connect(url)
            engine = create_engine(installation.database_url(service))
            settle_heap()  # as a service does once started: a replay's garbage is its own
            for runner in _runners(service, nc, engine):
                runner.engine = await engine_of_version(engine, runner.name)
                await runner.drop()
                with tqdm(unit="event", desc=f"rebuild {runner.name}") as bar:
                    def progress(done: int, total: int) -> None:
                        bar.total = total
                        bar.update(done - bar.n)

                    position = await runner.catch_up(progress)
                print(f"{runner.name}: replayed to position {position}")
                if runner.engine is not engine:
                    await runner.engine.dispose()
            await nc.close()
            await engine.dispose()
    except InstallationBusy as error:
        print(f"cchc rebuild: {error}; stop it first", file=sys.stderr)
        return 1
    return 0
