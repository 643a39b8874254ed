"""``cchc archive``: closed years out of the hot log, checked, and back (deploy/README.md,
"Archived years").

    cchc archive create dossier 2022     # the finished dossiers of 2022 leave the stream
    cchc archive list
    cchc archive verify dossier 2022     # the stored archive against its manifest and the log
    cchc archive restore dossier 2022    # its events back into the stream

On a stopped installation (it starts its own nats-server on the data folder, as ``cchc rebuild``
does), or on a cluster with ``--nats-url`` (the ops user). The services may run meanwhile.
"""

import argparse
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from nats.aio.client import Client as NATS

from cchc.cli import cluster
from cchc.cli.installation import Installation, InstallationBusy
from cchc.dossier.archiving import DOSSIER_ARCHIVE
from cchc.runtime.archive_store import ArchiveManifest, ArchiveShelf
from cchc.runtime.archiving import (
    ArchiveFailed,
    ArchiveRules,
    archive_year,
    restore_archive,
    verify_archive,
)
from cchc.runtime.signing_keys import SigningKey, load_signing_key

RULES: dict[str, ArchiveRules] = {"dossier": DOSSIER_ARCHIVE}


async def create(nc: NATS, args: argparse.Namespace) -> int:
    result = await archive_year(nc, args.context, args.year, RULES[args.context],
                                by=args.by, progress=print, signer=_signer(args))
    if result.manifest is None and not result.purged_subjects:
        print(f"{args.context} {args.year}: nothing finished to archive")
        return 0
    if result.manifest is not None:
        print(_describe(result.manifest))
    print(f"{result.purged_subjects} aggregates left the stream")
    for subject in result.changed_meanwhile:
        print(f"  {subject} got an event while archiving: it stays in the stream, its beginning "
              "in the archive", file=sys.stderr)
    return 1 if result.changed_meanwhile else 0


async def listing(nc: NATS, args: argparse.Namespace) -> int:
    manifests = await ArchiveShelf(nc).manifests()
    if not manifests:
        print("no archives")
    for manifest in manifests:
        print(_describe(manifest))
    return 0


async def verify(nc: NATS, args: argparse.Namespace) -> int:
    for manifest in await _of_year(nc, args.context, args.year):
        events = await verify_archive(nc, manifest)
        print(f"{manifest.prefix}: {events} events check out (segment {manifest.segment_hash})")
    return 0


async def restore(nc: NATS, args: argparse.Namespace) -> int:
    skipped = 0
    for manifest in await _of_year(nc, args.context, args.year):
        result = await restore_archive(nc, manifest, RULES[args.context], by=args.by,
                                       progress=print, signer=_signer(args))
        print(f"{manifest.prefix}: {result.events} events of {result.aggregates} aggregates "
              "are back in the stream")
        for subject in result.skipped:
            print(f"  {subject} has events in the stream: left as it is", file=sys.stderr)
        skipped += len(result.skipped)
    return 1 if skipped else 0


def _signer(args: argparse.Namespace) -> SigningKey | None:
    """The context's service key the log's record of the cut is signed with: given as a file
    (a cluster: the service's mounted secret), else the data folder's."""
    if getattr(args, "signing_key_file", None):
        return load_signing_key(args.context, file=args.signing_key_file)
    if args.nats_url:
        return None
    return Installation(Path(args.data_dir).resolve()).signing_key(args.context)


async def _of_year(nc: NATS, context: str, year: int) -> list[ArchiveManifest]:
    found = [m for m in await ArchiveShelf(nc).manifests(context) if m.year == year]
    if not found:
        raise ArchiveFailed(f"no archive of {context} {year}")
    return found


def _describe(manifest: ArchiveManifest) -> str:
    state = f", restored {manifest.restored_at:%Y-%m-%d}" if manifest.restored_at else ""
    return (f"{manifest.prefix}: {manifest.events} events of {manifest.aggregates} aggregates, "
            f"positions {manifest.first_position}-{manifest.last_position}, "
            f"sha256 {manifest.sha256[:16]}…, made {manifest.created_at:%Y-%m-%d} by "
            f"{manifest.created_by}{state}")


ACTIONS: dict[str, Callable[[NATS, argparse.Namespace], Awaitable[int]]] = {
    "create": create, "list": listing, "verify": verify, "restore": restore,
}


async def run(args: argparse.Namespace) -> int:
    if args.nats_url:
        return await _with(args.nats_url, args)
    try:
        with Installation(Path(args.data_dir).resolve()).offline_nats() as url:
            return await _with(url, args)
    except InstallationBusy as error:
        print(f"cchc archive: {error}; stop it first, or give --nats-url", file=sys.stderr)
        return 1


async def _with(url: str, args: argparse.Namespace) -> int:
    nc = await cluster.connect(url, args)
    try:
        return await ACTIONS[args.action](nc, args)
    except ArchiveFailed as error:
        print(f"cchc archive {args.action}: {error}", file=sys.stderr)
        return 1
    finally:
        await nc.close()
