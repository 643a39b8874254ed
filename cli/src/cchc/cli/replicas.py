"""``cchc replicas``: how many copies each stream and bucket of a cluster keeps, and raising it.

    cchc replicas --nats-url tls://ops:…@nats:4222                 # list
    cchc replicas --nats-url tls://ops:…@nats:4222 --raise-to 3    # raise every one below 3

A process makes its streams with the replicas it is configured for and never rewrites them, so
those made before a cluster (or by a release that made its buckets R1) stay so; each process
names them in its log at start. Raising is done as ops, the services running: the server copies
each stream to its new peers while it keeps serving. Nothing is ever lowered. Exits 1 when the
server refused a stream (fewer nodes than asked, say), 2 on bad arguments.
"""

import argparse
import sys


from cchc.cli import cluster
from cchc.runtime.replicas import all_streams, raise_replicas

MAX_REPLICAS = 5  # nats-server's limit


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "replicas", help="list each stream's replicas on a cluster, or raise them (as ops)")
    cluster.add_options(parser, "the cluster, as the ops user", required=True)
    parser.add_argument("--raise-to", type=int, metavar="N",
                        help=f"raise every stream keeping fewer than N (1-{MAX_REPLICAS}) to N")


async def run(args: argparse.Namespace) -> int:
    if args.raise_to is not None and not 1 <= args.raise_to <= MAX_REPLICAS:
        print(f"cchc replicas: --raise-to is a number from 1 to {MAX_REPLICAS}", file=sys.stderr)
        return 2
    nc = await cluster.connect(args.nats_url, args, name="cchc-replicas",
                               max_reconnect_attempts=0)
    try:
        js = nc.jetstream(timeout=30)
        if args.raise_to is None:
            for info in sorted(await all_streams(js), key=lambda info: info.config.name):
                print(f"{info.config.name}: {info.config.num_replicas or 1} replica(s)")
            return 0
        changes = await raise_replicas(js, args.raise_to)
    finally:
        await nc.close()
    for change in changes:
        if change.error:
            print(f"{change.stream}: left at {change.before}: {change.error}", file=sys.stderr)
        else:
            print(f"{change.stream}: {change.before} -> {change.after} replicas")
    if not changes:
        print(f"every stream keeps {args.raise_to} replica(s) or more: nothing to raise")
    return 1 if any(change.error for change in changes) else 0
