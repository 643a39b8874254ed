"""``cchc backup create|restore``: every JetStream stream of the installation (the event streams,
the KV buckets, the archive bucket) to a folder and back, online, as ops (``cchc.runtime.backups``
says how, and what a backup folder holds).

    cchc backup create /backups/2026-12-07                  # the data folder .data, running or not
    cchc backup create /backups/2026-12-08 --base /backups/2026-12-07   # what grew since: differential
    cchc backup restore /backups/2026-12-07 --data-dir .data-restored   # a new one, then `cchc up`
    cchc backup create /backups/2026-12-07 --nats-url tls://ops:…@nats:4222 --nats-ca ca.crt   # a cluster
"""

import argparse
import asyncio
import sys
from pathlib import Path


from cchc.cli import cluster
from cchc.cli.installation import Installation, InstallationBusy, write_private
from cchc.contracts.signatures import Keyring
from cchc.runtime import backup_crypto
from cchc.runtime.backups import MANIFEST, BackupError, FullBackup, create, restore

KEYRING = "keyring.json"  # an embedded installation's public keys, beside its backup


async def run(args: argparse.Namespace) -> int:
    try:
        to = backup_crypto.recipient(args.recipient) if getattr(args, "recipient", None) else None
        identity = read_identity(args)
    except backup_crypto.BackupKeyError as error:
        print(f"cchc backup: {error}", file=sys.stderr)
        return 2
    if args.nats_url:
        return await _with(args.nats_url, args, to, identity)
    # The embedded installation of --data-dir. Its public keyring goes with the backup and into
    # the folder restored to, so that the events its keys signed verify there too.
    installation = Installation(args.data_dir.resolve())
    if args.action == "create":
        with installation.ops_nats() as url:  # running or not
            done = await _with(url, args, to, identity)
        if done == 0:
            (args.folder / KEYRING).write_text(installation.keyring().to_json())
        return done
    try:  # into a data folder whose streams do not exist yet: stopped, never started
        with installation.offline_nats() as url:
            done = await _with(url, args, to, identity)
    except InstallationBusy as error:
        print(f"cchc backup: {error}; restore into a new data folder", file=sys.stderr)
        return 1
    if done == 0 and (args.folder / KEYRING).exists():
        ring = installation.keyring()
        for key in Keyring.from_file(args.folder / KEYRING).keys:
            ring = ring.with_key(key)
        write_private(installation.keyring_file, ring.to_json())
    return done


async def _with(url: str, args: argparse.Namespace, to, identity) -> int:  # type: ignore[no-untyped-def]
    nc = await cluster.connect(url, args, connect_timeout=10, allow_reconnect=False,
                               name="cchc-backup")
    try:
        if args.action == "create":
            return await create(nc, args.folder, to=to, base=extended(args))
        return await restore(nc, args.folder, args.replicas, args.no_manifest,
                             identity=identity)
    except BackupError as error:
        print(f"cchc backup: {error}", file=sys.stderr)
        return 1
    finally:
        await nc.close()


def extended(args: argparse.Namespace) -> FullBackup | None:
    """The full backup of ``--base``, checked, beside the folder backed up into (where a
    restore looks for it)."""
    if args.base is None:
        return None
    if args.base.resolve().parent != args.folder.resolve().parent:
        raise BackupError(f"--base {args.base} is not beside {args.folder}: a restore looks for "
                          "the full backup in the same folder as the differential one")
    return FullBackup.checked(args.base)


def read_identity(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """The age identity of ``--identity``, if given (a ``BackupKeyError`` when unreadable)."""
    path = getattr(args, "identity", None)
    return backup_crypto.identity_from_file(Path(path)) if path else None


def add_parser(commands) -> None:  # type: ignore[no-untyped-def]
    backup = commands.add_parser(
        "backup", help="every stream of a running installation (events, KV buckets) to a "
        "folder, or back into a fresh one (deploy/README.md, \"Backup and restore\")")
    actions = backup.add_subparsers(dest="action", required=True)
    create_action = actions.add_parser("create", help="snapshot every stream into FOLDER")
    restore_action = actions.add_parser("restore", help="restore every stream of FOLDER")
    restore_action.add_argument("--replicas", type=int, default=None,
                                help="replicas of the restored streams (default: as backed up)")
    add_no_manifest(restore_action)
    create_action.add_argument("--base", type=Path, metavar="FULL_BACKUP",
                               help="a full backup beside FOLDER: keep of each stream only what "
                                    "it gained since (a differential backup, which needs it to "
                                    "restore)")
    create_action.add_argument("--recipient", metavar="AGE1...",
                               help="encrypt every snapshot to this age public key (the "
                                    "scheduled backup's CCHC_BACKUP_RECIPIENT)")
    for action in (create_action, restore_action):
        action.add_argument("folder", type=Path)
        cluster.add_options(action, "a cluster: tls://ops:<password>@host:4222 (its CA: "
                                    "--nats-ca); default: the embedded installation of "
                                    "--data-dir")
        action.add_argument("--data-dir", type=Path, default=Path(".data"))
    backup.set_defaults(run=lambda args: asyncio.run(run(args)))


def add_no_manifest(parser: argparse.ArgumentParser) -> None:
    """The options of reading a backup folder: ``--no-manifest`` and ``--identity``."""
    parser.add_argument("--no-manifest", action="store_true",
                        help=f"a folder without {MANIFEST} (`nats stream backup`, or a release "
                             "before 2026-12-07): take the streams it holds, unchecked")
    parser.add_argument("--identity", metavar="KEY_FILE",
                        help="the age key file (AGE-SECRET-KEY-1...) of an encrypted backup")
