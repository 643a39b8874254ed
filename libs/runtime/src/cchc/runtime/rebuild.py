"""Rebuilding a service's read models from the log, in place: each projection's tables dropped
and replayed, where its version lives (``cchc.runtime.projection_upgrade``), a replay far behind
read by the replay reader process.

Two ways in:
- ``cchc rebuild <service>`` for an embedded installation (``--data-dir``, the stack stopped);
- a deployment runs the service's own image, with its settings, and the argument ``rebuild``
  (``python -m cchc.<service>.main rebuild``; the images' ``run-service rebuild``):
  ``docker compose run --rm dossier rebuild``, or a Kubernetes Job (deploy/README.md).

Nothing is dropped while a replica of the service runs a projection: the rebuild first takes
every projection's lease (``cchc.runtime.leadership``; a PostgreSQL advisory lock, which the
active replica holds), and refuses, changing nothing, if one is held. It keeps them to the end,
so a replica started meanwhile stands by until the rebuilt tables are whole.
"""

import asyncio
import logging
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.runtime import nats_credentials
from cchc.runtime.endpoints import inbox_prefix
from cchc.runtime.heap import settle_heap
from cchc.runtime.leadership import ProjectionLease
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.projection_upgrade import engine_of_version
from cchc.runtime.sqldb import create_engine

if TYPE_CHECKING:
    from cchc.runtime.service import ServiceProcess

log = logging.getLogger("cchc.rebuild")

Progress = Callable[[str], Callable[[int, int], None]]  # a projection's name -> its callback
REPORT_EVERY_S = 10.0


class ProjectionBusy(Exception):
    """A replica of the service runs one of the projections: stop it first."""


async def rebuild_projections(runners: list[ProjectionRunner], engine: AsyncEngine,
                              progress: Progress | None = None) -> dict[str, int]:
    """Drop and replay every projection of ``runners``; the position each reached.

    Raises ``ProjectionBusy`` before anything is dropped if another process holds a lease."""
    leases: list[ProjectionLease] = []
    try:
        for runner in runners:
            runner.engine = await engine_of_version(engine, runner.name)
            lease = ProjectionLease(runner.engine, runner.name)
            leases.append(lease)
            if not await lease.try_acquire():
                raise ProjectionBusy(runner.name)
        settle_heap()  # as a service does once started: a replay's garbage is its own
        reached = {}
        for runner in runners:
            await runner.drop()
            reached[runner.name] = await runner.catch_up(
                progress(runner.name) if progress else None)
            await runner.close()
        return reached
    finally:
        for lease in leases:
            await lease.release()
        for runner in runners:
            if runner.engine is not engine:
                await runner.engine.dispose()


def logged_progress(name: str) -> Callable[[int, int], None]:
    """A line in the log every ``REPORT_EVERY_S`` seconds: where the replay is."""
    last = [time.monotonic()]

    def report(done: int, total: int) -> None:
        if time.monotonic() - last[0] >= REPORT_EVERY_S:
            last[0] = time.monotonic()
            log.info("rebuild %s: %d of %d events", name, done, total)

    return report


async def rebuild_service(service: "ServiceProcess") -> int:
    """The ``rebuild`` command of a service's process: its projections rebuilt with its own
    settings (NATS user, CA, database); the process's exit code (1: refused or failed)."""
    settings = service.settings
    nc = await nats_credentials.connect(
        settings.nats_url, settings.nats_tls_ca, name=f"cchc-{service.name}-rebuild",
        inbox_prefix=inbox_prefix(service.name), connect_timeout=10, max_reconnect_attempts=5)
    engine = create_engine(settings.database_url)
    try:
        reached = await rebuild_projections(service.projection_runners(nc, engine), engine,
                                            logged_progress)
    except ProjectionBusy as busy:
        print(f"{service.name} rebuild: a replica of the service runs the projection {busy}; "
              "stop every replica first (compose: docker compose stop "
              f"{service.name}; Kubernetes: kubectl scale deploy/{service.name} --replicas=0)",
              file=sys.stderr)
        return 1
    finally:
        await nc.close()
        await engine.dispose()
    for name, position in reached.items():
        print(f"{name}: replayed to position {position}")
    return 0


def run(service: "ServiceProcess") -> int:
    return asyncio.run(rebuild_service(service))
