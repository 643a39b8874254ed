"""``cchc backup create|restore``: every JetStream stream of the installation (the event streams,
the KV buckets, the archive bucket) to a folder and back, online, as ops (``cchc.runtime.backups``
says how, and what a backup folder holds).
"""

import argparse
import asyncio
import sys
from pathlib import Path

import nats

from cchc.runtime.backups import MANIFEST, BackupError, create, restore


async def run(args: argparse.Namespace) -> int:
    nc = await nats.connect(args.nats_url, connect_timeout=10, allow_reconnect=False,
                            name="cchc-backup")
    try:
        if args.action == "create":
            return await create(nc, args.folder)
        return await restore(nc, args.folder, args.replicas, args.no_manifest)
    except BackupError as error:
        print(f"cchc backup: {error}", file=sys.stderr)
        return 1
    finally:
        await nc.close()


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
    for action in (create_action, restore_action):
        action.add_argument("folder", type=Path)
        action.add_argument("--nats-url", required=True,
                            help="tls://ops:<password>@host:4222 (trust the CA: SSL_CERT_FILE)")
    backup.set_defaults(run=lambda args: asyncio.run(run(args)))


def add_no_manifest(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-manifest", action="store_true",
                        help=f"a folder without {MANIFEST} (`nats stream backup`, or a release "
                             "before 2026-12-07): take the streams it holds, unchecked")
