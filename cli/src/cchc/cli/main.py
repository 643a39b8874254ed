"""``cchc up | token | rebuild | migrate-subjects | archive | backup | verify | replicas | import |
demo``."""

import argparse
import asyncio
import sys
from pathlib import Path

from cchc.cli import cluster
from cchc.runtime.observability import configure_logging

DEFAULT_DATA_DIR = Path(".data")


def _up(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from cchc.cli.stack import embedded_backups, run_stack

    try:
        backups = None if args.no_backups else embedded_backups(
            args.backup_dir or args.data_dir / "backups")
    except ValidationError as error:  # a CCHC_BACKUP_* setting
        print(f"cchc up: {error}", file=sys.stderr)
        return 2
    asyncio.run(run_stack(args.data_dir, args.http_port, backups))
    return 0


def _token(args: argparse.Namespace) -> int:
    from cchc.cli.installation import Installation
    from cchc.gateway.auth import issue_token

    if args.revoke is not None:
        return _revoke(args)
    if not args.role or not args.sub:
        print("cchc token: --role and --sub (the person the token names) are required",
              file=sys.stderr)
        return 2
    if args.role == "officer" and not args.agency:
        print("an officer token needs --agency", file=sys.stderr)
        return 2
    if args.ttl is not None and args.ttl <= 0:
        print("--ttl is a number of seconds above 0", file=sys.stderr)
        return 2
    secret = Installation(args.data_dir.resolve()).jwt_secret()
    print(issue_token(secret, args.sub, args.role, args.agency, args.ttl))
    return 0


def _revoke(args: argparse.Namespace) -> int:
    """``cchc token revoke``: through the REST API of the running installation, as its admin
    (admin.token of the data folder), so the gateway that keeps the list checks the request."""
    import httpx

    from cchc.cli.installation import Installation

    if (args.jti is None) == (args.revoke_sub is None):
        print("cchc token revoke: give exactly one of --jti and --sub", file=sys.stderr)
        return 2
    token_file = Installation(args.data_dir.resolve()).admin_token_file
    if not token_file.exists():
        print(f"cchc token revoke: no {token_file}; start the installation first (`cchc up`)",
              file=sys.stderr)
        return 1
    body = {"jti": args.jti} if args.jti is not None else {"sub": args.revoke_sub}
    if args.reason:
        body["reason"] = args.reason
    try:
        answer = httpx.post(f"{args.url.rstrip('/')}/api/v1/admin/revocations", json=body,
                            headers={"Authorization": f"Bearer {token_file.read_text().strip()}"},
                            timeout=10)
    except httpx.HTTPError as error:
        print(f"cchc token revoke: {args.url}: {error}", file=sys.stderr)
        return 1
    if answer.status_code != 201:
        print(f"cchc token revoke: {answer.status_code} {answer.text}", file=sys.stderr)
        return 1
    print(answer.text)
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from cchc.cli.rebuild import rebuild

    return asyncio.run(rebuild(args.data_dir, args.service))


def _migrate(args: argparse.Namespace) -> int:
    from cchc.cli.migrate import migrate

    return asyncio.run(migrate(args.data_dir, args.nats_url, args.replicas, args.drop_legacy,
                               args.nats_ca))


def _archive(args: argparse.Namespace) -> int:
    from cchc.cli.archive import run

    return asyncio.run(run(args))


def _verify(args: argparse.Namespace) -> int:
    from cchc.cli.verify import run

    return asyncio.run(run(args))


def _replicas(args: argparse.Namespace) -> int:
    from cchc.cli.replicas import run

    return asyncio.run(run(args))


def _demo(args: argparse.Namespace) -> int:
    from cchc.cli.demo import run_demo
    from cchc.cli.installation import Installation

    token_file = Installation(args.data_dir.resolve()).admin_token_file
    if not token_file.exists():
        print(f"cchc demo: no {token_file}; start the installation first (`cchc up`)",
              file=sys.stderr)
        return 1
    return asyncio.run(run_demo(args.url, token_file.read_text().strip(), args.dossiers))


def _import(args: argparse.Namespace) -> int:
    from cchc.cli.importing import run_import
    from cchc.cli.installation import Installation

    token_file = Installation(args.data_dir.resolve()).admin_token_file
    if not token_file.exists():
        print(f"cchc import: no {token_file}; start the installation first (`cchc up`)",
              file=sys.stderr)
        return 1
    return asyncio.run(run_import(args.kind, args.file, args.url, token_file.read_text().strip(),
                                  args.concurrency))


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="cchc", description="CCHC Ledger, embedded default.")
    commands = root.add_subparsers(dest="command", required=True)

    up = commands.add_parser("up", help="run nats-server, the services and the gateway")
    up.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    up.add_argument("--http-port", type=int, default=8000)
    up.add_argument("--backup-dir", type=Path,
                    help="where the scheduled backups go (default: DATA_DIR/backups; better a "
                         "disk of its own): one a day, the newest 7 kept (CCHC_BACKUP_INTERVAL_S, "
                         "CCHC_BACKUP_KEEP), encrypted to CCHC_BACKUP_RECIPIENT if set")
    up.add_argument("--no-backups", action="store_true", help="take no scheduled backups")
    up.set_defaults(run=_up)

    token = commands.add_parser(
        "token", help="print a bearer token for this installation (or: token revoke)")
    token.add_argument("--role", choices=["admin", "home_affairs", "officer", "inspector"],
                       help="required")
    token.add_argument("--agency")
    token.add_argument("--sub", help="required: the person the token names (a user name)")
    token.add_argument("--ttl", type=int, default=None,
                       help="lifetime in seconds (default: 8 hours)")
    token.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    token.set_defaults(run=_token, revoke=None)
    token_commands = token.add_subparsers(dest="revoke", required=False)
    revoke = token_commands.add_parser(
        "revoke", help="revoke one token (--jti) or every token of a person issued until now "
                       "(--sub), through the running gateway as its admin")
    revoke.add_argument("--jti")
    revoke.add_argument("--sub", dest="revoke_sub")
    revoke.add_argument("--reason")
    revoke.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway")
    revoke.add_argument("--data-dir", type=Path, default=argparse.SUPPRESS)

    rebuild = commands.add_parser("rebuild", help="drop a service's projections and replay the log")
    rebuild.add_argument("service", choices=["dossier", "planning", "scoring"])
    rebuild.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    rebuild.set_defaults(run=_rebuild)

    migrate = commands.add_parser(
        "migrate-subjects", help="move the event log to one subject per aggregate (scheme 2), "
                                 "keeping a checked copy of the old streams")
    migrate.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    cluster.add_options(migrate, "a running cluster instead (the ops user; the services "
                                 "stopped)")
    migrate.add_argument("--replicas", type=int, default=1, help="of the migrated streams")
    migrate.add_argument("--drop-legacy", action="store_true",
                         help="check the scheme-1 copies again, then delete them")
    migrate.set_defaults(run=_migrate)

    archive = commands.add_parser(
        "archive", help="move a closed year's finished aggregates out of the hot log, check an "
        "archive, or put it back (deploy/README.md, \"Archived years\")")
    actions = archive.add_subparsers(dest="action", required=True)
    for name, text in (("create", "archive a closed year"), ("verify", "check an archived year"),
                       ("restore", "put an archived year back into the stream")):
        action = actions.add_parser(name, help=text)
        action.add_argument("context", choices=["dossier"])
        action.add_argument("year", type=int)
    actions.add_parser("list", help="the archives of this installation")
    for action in actions.choices.values():
        action.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
        cluster.add_options(action, "a running cluster instead (the ops user)")
        action.add_argument("--by", default="ops", help="who archives (kept in the manifest)")
        action.add_argument("--signing-key-file", help="with --nats-url: the context's service "
                            "signing key, which signs the log's record of the cut")
    archive.set_defaults(run=_archive)

    from cchc.cli.verify import add_parser as add_verify

    add_verify(commands, DEFAULT_DATA_DIR)
    commands.choices["verify"].set_defaults(run=_verify)

    from cchc.cli.replicas import add_parser as add_replicas

    add_replicas(commands)
    commands.choices["replicas"].set_defaults(run=_replicas)

    importing = commands.add_parser(
        "import", help="import a procedure catalogue or dossiers from CSV or XLSX through the "
                       "running gateway (every row checked first; running it again writes "
                       "nothing twice)")
    importing.add_argument("kind", choices=["procedures", "dossiers"])
    importing.add_argument("file", type=Path)
    importing.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    importing.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway")
    importing.add_argument("--concurrency", type=int, default=16, help="rows sent at once")
    importing.set_defaults(run=_import)

    from cchc.cli.backup import add_parser as add_backup

    add_backup(commands)

    demo = commands.add_parser(
        "demo", help="load a demo province (20 departments, a year of dossiers, plans, indexes) "
                     "into the running installation")
    demo.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    demo.add_argument("--url", default="http://127.0.0.1:8000", help="the gateway")
    demo.add_argument("--dossiers", type=int, default=60, help="dossiers per agency")
    demo.set_defaults(run=_demo)
    return root


def main(argv: list[str] | None = None) -> int:
    configure_logging()
    args = parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
