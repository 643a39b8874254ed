"""``cchc migrate-subjects``: the event log from subject scheme 1 to 2, every context.

On a stopped installation (it starts its own nats-server on the data folder, as ``cchc rebuild``
does), or on a cluster (``--nats-url`` with the ops user, the services stopped). ``cchc up`` runs
the same migration at start when it finds an old log. The scheme-1 copies stay until
``--drop-legacy``, which checks each against its migrated stream before deleting it.
"""

import sys
from pathlib import Path

from nats.aio.client import Client as NATS

from cchc.cli import cluster
from cchc.cli.installation import Installation, InstallationBusy
from cchc.contracts.subjects import CONTEXTS
from cchc.runtime.subject_migration import MigrationFailed, drop_legacy, migrate_context


async def migrate_all(nc: NATS, replicas: int = 1, drop: bool = False) -> list[str]:
    """Migrate every context (and drop the copies when asked); what was done, a line each."""
    done = []
    for context in CONTEXTS:
        result = await migrate_context(nc, context, replicas, progress=print)
        if result.already:
            done.append(f"{context}: already one subject per aggregate ({result.events} events)")
        else:
            done.append(f"{context}: {result.events} events migrated and checked")
        if drop and await drop_legacy(nc, context):
            done.append(f"{context}: the scheme-1 copy checked again and deleted")
    return done


async def migrate(data_dir: Path, nats_url: str | None, replicas: int, drop: bool,
                  nats_ca: str | None = None) -> int:
    if nats_url:
        return await _run(nats_url, replicas, drop, nats_ca)
    try:
        with Installation(data_dir.resolve()).offline_nats() as url:
            return await _run(url, replicas, drop)
    except InstallationBusy as error:
        print(f"cchc migrate-subjects: {error}; stop it first", file=sys.stderr)
        return 1


async def _run(url: str, replicas: int, drop: bool, ca: str | None = None) -> int:
    nc = await cluster.connect_to(url, ca)
    try:
        for line in await migrate_all(nc, replicas, drop):
            print(line)
    except MigrationFailed as error:
        print(f"cchc migrate-subjects: {error}; nothing after that step was done",
              file=sys.stderr)
        return 1
    finally:
        await nc.close()
    return 0
