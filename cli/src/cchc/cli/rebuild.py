"""Rebuild a service's read model from the log, with a progress bar.

Runs on a stopped installation: it starts its own nats-server on the data folder, so it refuses
while `cchc up` holds the folder. The rebuild itself is ``cchc.runtime.rebuild``'s, which a
deployment runs from the service's image (``run-service rebuild``).
"""

import sys
from collections.abc import Callable
from pathlib import Path

from nats.aio.client import Client as NATS
from sqlalchemy.ext.asyncio import AsyncEngine
from tqdm import tqdm

from cchc.runtime import nats_credentials
from cchc.cli.installation import Installation, InstallationBusy
from cchc.dossier.alert_projection import DossierAlertsProjection
from cchc.dossier.projections import DossierReadModel
from cchc.planning.projections import PlanningReadModel
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.rebuild import rebuild_projections
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
            try:
                reached = await rebuild_projections(_runners(service, nc, engine), engine,
                                                    _progress_bar)
            finally:
                await nc.close()
                await engine.dispose()
    except InstallationBusy as error:
        print(f"cchc rebuild: {error}; stop it first", file=sys.stderr)
        return 1
    for name, position in reached.items():
        print(f"{name}: replayed to position {position}")
    return 0


def _progress_bar(name: str) -> Callable[[int, int], None]:
    bar = tqdm(unit="event", desc=f"rebuild {name}")

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return progress
