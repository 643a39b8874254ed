"""``cchc up | token | rebuild | demo``."""

import argparse
import asyncio
import logging
import sys
from pathlib import Path

DEFAULT_DATA_DIR = Path(".data")


def _up(args: argparse.Namespace) -> int:
    from cchc.cli.stack import run_stack

    asyncio.run(run_stack(args.data_dir, args.http_port))
    return 0


def _token(args: argparse.Namespace) -> int:
    from cchc.cli.installation import Installation
    from cchc.gateway.auth import issue_token

    if args.role == "officer" and not args.agency:
        print("an officer token needs --agency", file=sys.stderr)
        return 2
    secret = Installation(args.data_dir.resolve()).jwt_secret()
    print(issue_token(secret, args.sub or args.role, args.role, args.agency, args.ttl))
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from cchc.cli.rebuild import rebuild

    return asyncio.run(rebuild(args.data_dir, args.service))


def _demo(args: argparse.Namespace) -> int:
    from cchc.cli.demo import run_demo
    from cchc.cli.installation import Installation

    token_file = Installation(args.data_dir.resolve()).admin_token_file
    if not token_file.exists():
        print(f"cchc demo: no {token_file}; start the installation first (`cchc up`)",
              file=sys.stderr)
        return 1
    return asyncio.run(run_demo(args.url, token_file.read_text().strip(), args.dossiers))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="cchc", description="CCHC Ledger, embedded default.")
    commands = root.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run nats-server, the services and the gateway")
    up.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    up.add_argument("--http-port", type=int, default=8000)
    up.set_defaults(run=_up)

    token = commands.add_parser("token", help="print a bearer token for this installation")
    token.add_argument("--role", required=True,
                       choices=["admin", "home_affairs", "officer", "inspector"])
    token.add_argument("--agency")
    token.add_argument("--sub", help="the user the token names (default: the role)")
    token.add_argument("--ttl", type=int, default=None, help="lifetime in seconds")
    token.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    token.set_defaults(run=_token)

    rebuild = commands.add_parser("rebuild", help="drop a service's projections and replay the log")
    rebuild.add_argument("service", choices=["dossier", "planning", "scoring"])
    rebuild.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    rebuild.set_defaults(run=_rebuild)

    demo = commands.add_parser(
        "demo", help="load a demo province (20 departments, a year of dossiers, plans, indexes) "
                     "into the running installation")
    demo.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway")
    demo.add_argument("--dossiers", type=int, default=60, help="dossiers per agency")
    demo.set_defaults(run=_demo)
    return root


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
