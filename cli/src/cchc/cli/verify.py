"""``cchc verify``: every chain, signature and anchor of an installation's log, or of a backup.

    cchc verify                                  # the data folder .data (running or stopped)
    cchc verify --data-dir /backup/cchc-2026-11  # a copy of a data folder (a backup)
    cchc verify --nats-url nats://ops:…@nats:4222 --keyring keyring.json   # a cluster
    cchc verify --backup /backup/2026-11-30 --keyring keyring.json   # a `cchc backup create`
    cchc verify --anchor 3f2a-9c1b-8e7d-6a5f     # also: this anchor (a report's) is in the log

A backup made by ``cchc backup create`` (or ``nats stream backup``, one folder per stream) is
restored into a scratch nats-server of its own, in a temporary folder, and verified there: the
check that the backup restores at all comes with it. Its manifest is checked first (a backup that
did not finish, or whose files changed since, fails at once; ``--no-manifest`` for folders of
``nats stream backup``). The scratch server is stopped and its folder removed afterwards; it
needs as much disk as the backup.

Prints each event and anchor that fails, one line each, and a summary per stream; exits 1 when
anything fails. Unsigned events written before signing began are counted, not failures.
"""

import argparse
import sys
import tempfile
from pathlib import Path


from cchc.runtime import nats_credentials
from cchc.cli import cluster
from cchc.cli.backup import add_no_manifest, read_identity
from cchc.cli.installation import Installation
from cchc.runtime import backup_crypto, backups
from cchc.runtime.log_verification import Verification, verify_log
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.signing_keys import Keyring


async def run(args: argparse.Namespace) -> int:
    if args.nats_url or args.backup:
        if not args.keyring:
            print(f"cchc verify: {'--nats-url' if args.nats_url else '--backup'} needs "
                  "--keyring (the installation's public keys: GET /api/v1/audit/keys, or "
                  "deploy's keyring.json)", file=sys.stderr)
            return 2
        try:
            keyring = Keyring.from_file(args.keyring)
        except (OSError, ValueError) as error:  # missing, unreadable, not a keyring
            print(f"cchc verify: cannot read the keyring {args.keyring}: {error}",
                  file=sys.stderr)
            return 2
        if args.backup:
            return await _verify_backup(args.backup, keyring, args)
        return await _verify(args.nats_url, keyring, args)
    installation = Installation(args.data_dir.resolve())
    if not installation.nats_dir.exists():
        print(f"cchc verify: {installation.root} holds no log", file=sys.stderr)
        return 1
    keyring = Keyring.from_file(args.keyring) if args.keyring else installation.keyring()
    with installation.ops_nats() as url:  # running or not
        return await _verify(url, keyring, args)


async def _verify(url: str, keyring: Keyring, args: argparse.Namespace) -> int:
    nc = await cluster.connect(url, args, name="cchc-verify", max_reconnect_attempts=0)
    try:
        result = await verify_log(nc, keyring, expected_anchors=tuple(args.anchor or ()))
    finally:
        await nc.close()
    print_result(result)
    return 0 if result.ok else 1


async def _verify_backup(folder: Path, keyring: Keyring, args: argparse.Namespace) -> int:
    """Restore the backup into a scratch server of its own (one node: replicas 1), verify that."""
    if not any(folder.glob("*/backup.json")):
        print(f"cchc verify: {folder} holds no stream backup (<STREAM>/backup.json)",
              file=sys.stderr)
        return 1
    try:
        identity = read_identity(args)
    except backup_crypto.BackupKeyError as error:
        print(f"cchc verify: {error}", file=sys.stderr)
        return 2
    try:
        streams = backups.checked_streams(folder, args.no_manifest, identity)
    except backups.BackupError as error:
        print(f"cchc verify: the backup cannot be used: {error}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="cchc-verify-", dir=args.scratch_dir) as scratch:
        server = NatsServer(store_dir=Path(scratch) / "nats").start()
        try:
            nc = await nats_credentials.connect(server.url, name="cchc-verify", max_reconnect_attempts=0)
            try:
                print(f"restoring {folder} into a scratch server:")
                if await backups.restore_streams(nc, streams, 1, identity=identity) != 0:
                    return 1
            except backups.BackupError as error:
                print(f"cchc verify: the backup does not restore: {error}", file=sys.stderr)
                return 1
            finally:
                await nc.close()
            return await _verify(server.url, keyring, args)
        finally:
            server.stop()


def print_result(result: Verification) -> None:
    for failure in result.event_failures:
        print(f"FAILED event {failure.line()}")
    for failure in result.anchor_failures:
        print(f"FAILED anchor {failure.line()}")
    for stream in result.streams:
        if not stream.exists:
            print(f"{stream.stream}: no such stream (nothing written to it yet)")
            continue
        since = (f", signed from position {stream.signed_since}"
                 if stream.signed_since is not None else ", nothing signed yet")
        print(f"{stream.stream}: {stream.events} events, {stream.signed} signed, "
              f"{stream.unsigned} unsigned (before signing began){since}")
    print(f"ANCHORS: {result.anchors} anchors")
    failed = len(result.event_failures) + len(result.anchor_failures)
    print("verified: no failure" if result.ok else f"{failed} failures")


def add_parser(commands: argparse._SubParsersAction, default_data_dir: Path) -> None:
    verify = commands.add_parser(
        "verify", help="check every hash chain, event signature and anchor of the log (of a "
                       "running installation, a stopped one or a backup of its data folder)")
    verify.add_argument("--data-dir", type=Path, default=default_data_dir)
    cluster.add_options(verify, "a running cluster instead (the ops user)")
    verify.add_argument("--backup", type=Path, metavar="FOLDER",
                        help="a `cchc backup create` folder instead, restored into a scratch "
                             "server and verified there")
    add_no_manifest(verify)
    verify.add_argument("--scratch-dir", type=Path, default=None,
                        help="where the scratch server of --backup keeps its files (as much "
                             "disk as the backup; default: the system's temporary folder)")
    verify.add_argument("--keyring", help="the public keys (JSON), instead of the data folder's")
    verify.add_argument("--anchor", action="append", metavar="FINGERPRINT",
                        help="an anchor that must be in the log (a report's short fingerprint)")
