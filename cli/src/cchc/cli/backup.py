"""``cchc backup create|restore``: every JetStream stream of the installation (the event streams,
the KV buckets, the archive bucket) to a folder and back, online, as ops.

It speaks the server's own snapshot API, the one `nats stream backup` / `nats stream restore`
use (no `nats` CLI needed): ``$JS.API.STREAM.SNAPSHOT.<stream>`` streams the stream's files as
chunks to an inbox, each acknowledged; ``$JS.API.STREAM.RESTORE.<stream>`` gives a subject to
send them back to, and answers the last, empty chunk with the restored stream's info. A snapshot
is consistent per stream. Consumers are left out: each projection recreates its consumer from its
own checkpoint, and a fresh database replays the whole log.

A backup folder holds, per stream, ``<STREAM>/backup.json`` (configuration and state at the
snapshot) and ``<STREAM>/stream.snapshot``. Restore into an installation where those streams do
not exist yet (NATS up, the services not started); ``--replicas`` sets the replicas of the
restored streams when the cluster differs in size.
"""

import argparse
import asyncio
import json
import sys
from pathlib import Path

import nats
from nats.aio.client import Client as NATS

CHUNK_BYTES = 128 * 1024
API_TIMEOUT_S = 30.0


class BackupError(Exception):
    pass


async def api(nc: NATS, subject: str, body: dict, timeout: float = API_TIMEOUT_S) -> dict:
    answer = json.loads((await nc.request(subject, json.dumps(body).encode(), timeout=timeout)).data)
    if "error" in answer:
        raise BackupError(f"{subject}: {answer['error'].get('description', answer['error'])}")
    return answer


async def stream_names(nc: NATS) -> list[str]:
    names: list[str] = []
    while True:
        page = await api(nc, "$JS.API.STREAM.NAMES", {"offset": len(names)})
        names += page.get("streams") or []
        if not page.get("streams") or len(names) >= page.get("total", 0):
            return sorted(names)


async def snapshot(nc: NATS, stream: str, folder: Path) -> dict:
    """One stream into folder/<stream>/; returns its state at the snapshot."""
    target = folder / stream
    target.mkdir(parents=True, exist_ok=False)
    inbox = nc.new_inbox()
    chunks = await nc.subscribe(inbox)
    try:
        answer = await api(nc, f"$JS.API.STREAM.SNAPSHOT.{stream}", {
            "deliver_subject": inbox, "no_consumers": True, "chunk_size": CHUNK_BYTES,
            "jsck": False})
        with (target / "stream.snapshot").open("wb") as out:
            while True:
                chunk = await chunks.next_msg(timeout=API_TIMEOUT_S)
                if not chunk.data:  # the end (a header-only message)
                    break
                out.write(chunk.data)
                if chunk.reply:  # flow control: the server waits for these
                    await nc.publish(chunk.reply, b"")
    finally:
        await chunks.unsubscribe()
    backup = {"config": answer["config"], "state": answer["state"]}
    (target / "backup.json").write_text(json.dumps(backup, indent=2))
    return answer["state"]


async def restore_stream(nc: NATS, folder: Path, replicas: int | None) -> dict:
    backup = json.loads((folder / "backup.json").read_text())
    config = backup["config"]
    if replicas is not None:
        config["num_replicas"] = replicas
    answer = await api(nc, f"$JS.API.STREAM.RESTORE.{config['name']}",
                       {"config": config, "state": backup["state"]})
    deliver = answer["deliver_subject"]
    with (folder / "stream.snapshot").open("rb") as snapshot_file:
        while chunk := snapshot_file.read(CHUNK_BYTES):
            acknowledged = await nc.request(deliver, chunk, timeout=API_TIMEOUT_S)
            if acknowledged.data:
                error = json.loads(acknowledged.data).get("error")
                if error:
                    raise BackupError(f"restore {config['name']}: {error}")
    done = json.loads((await nc.request(deliver, b"", timeout=300)).data)
    if "error" in done:
        raise BackupError(f"restore {config['name']}: {done['error']}")
    return done["state"]


async def create(nc: NATS, folder: Path) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    for stream in await stream_names(nc):
        state = await snapshot(nc, stream, folder)
        print(f"{stream}: {state['messages']} messages, last sequence {state['last_seq']}")
    return 0


async def restore(nc: NATS, folder: Path, replicas: int | None) -> int:
    streams = sorted(p.parent for p in folder.glob("*/backup.json"))
    if not streams:
        print(f"cchc backup: no stream backed up in {folder}", file=sys.stderr)
        return 1
    existing = set(await stream_names(nc))
    clashing = [s.name for s in streams if s.name in existing]
    if clashing:
        print(f"cchc backup: these streams exist already: {', '.join(clashing)} (restore into "
              "an installation where NATS runs and the services have not started)",
              file=sys.stderr)
        return 1
    for stream in streams:
        state = await restore_stream(nc, stream, replicas)
        print(f"{stream.name}: {state['messages']} messages, last sequence {state['last_seq']}")
    return 0


async def run(args: argparse.Namespace) -> int:
    nc = await nats.connect(args.nats_url, connect_timeout=10, allow_reconnect=False,
                            name="cchc-backup")
    try:
        if args.action == "create":
            return await create(nc, args.folder)
        return await restore(nc, args.folder, args.replicas)
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
    for action in (create_action, restore_action):
        action.add_argument("folder", type=Path)
        action.add_argument("--nats-url", required=True,
                            help="tls://ops:<password>@host:4222 (trust the CA: SSL_CERT_FILE)")
    backup.set_defaults(run=lambda args: asyncio.run(run(args)))
