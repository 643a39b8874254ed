"""Who may do what on NATS: one user per process, with allow-lists (anything not listed is
denied), rendered as the embedded nats-server's ``authorization`` block.

The same permissions as deploy/nats/accounts.conf (a test holds the two together):
- only the gateway may publish to ``svc.>``: that is why a service may trust the caller a request
  names;
- a service answers requests (``allow_responses``) and appends only to its own context;
- every connection has its own inbox prefix (``_INBOX_<user>``) and may subscribe to no other
  inbox, so nobody reads the replies meant for someone else;
- ``anchor``, the anchor signer, reads the event streams and the archive and publishes to the
  anchor stream only (``cchc.runtime.anchor_signer``);
- the gateway's replicas hand each other alert digests on ``GATEWAY_ALERTS``, which nobody else
  may publish or read, and answer how many live streams took them;
- ``backup``, the scheduled backup (``cchc.runtime.backup_job``), lists the streams and snapshots
  them: it reads everything and can change nothing but the record of how its last backup went;
- ``ops`` (``cchc rebuild``, backups and restores by hand, inspection) may do anything.
No user means no entry: an anonymous connection is refused.
"""

import json
import secrets
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from cchc.contracts.anchors import ANCHOR_STREAM, ANCHOR_SUBJECT
from cchc.runtime.endpoints import inbox_prefix

SERVICES = ("dossier", "planning", "scoring")
ANCHOR = "anchor"
BACKUP = "backup"
USERS = ("gateway", *SERVICES, ANCHOR, BACKUP, "ops")
# Alert digests from the replica that delivers to every gateway replica's live streams
# (cchc.gateway.alerts.live): gateway to gateway only, since a digest names citizens.
GATEWAY_ALERTS = "gateway.alerts.live"


def _own_context(context: str) -> list[str]:
    stream = context.upper()
    return [
        f"cchc.{context}.>",
        "$JS.API.INFO",
        f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.CREATE.{stream}",
        f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.*", f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DELETE.{stream}.*", f"$JS.API.CONSUMER.INFO.{stream}.*",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.*",
        f"$JS.ACK.{stream}.>",
        f"svc.{context}.health", f"svc.{context}.health.*",
    ]


def _receipt_book() -> list[str]:
    # The dossier service numbers each agency's receipts of a day (cchc.dossier.receipt_book).
    stream = "KV_RECEIPT_NUMBERS"
    return [
        f"$JS.API.STREAM.CREATE.{stream}", f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.STREAM.MSG.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}.>", "$KV.RECEIPT_NUMBERS.>",
    ]


def _archive_reader() -> list[str]:
    # A replay merges the archived years back in (cchc.runtime.archive_store): every service reads
    # the archive bucket; only ops writes it (cchc archive).
    stream = "OBJ_CCHC_ARCHIVE"
    return [
        "$JS.API.STREAM.NAMES",  # nats-py's object store finds its stream by subject
        f"$JS.API.STREAM.INFO.{stream}", f"$JS.API.STREAM.MSG.GET.{stream}",
        f"$JS.API.DIRECT.GET.{stream}", f"$JS.API.DIRECT.GET.{stream}.>",
        f"$JS.API.CONSUMER.CREATE.{stream}", f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DELETE.{stream}.*", f"$JS.FC.{stream}.>",
    ]


def _scoring() -> list[str]:
    # Appends its own events and projects the other contexts (consumers, never a write there).
    return [
        "cchc.scoring.>",
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.CREATE.SCORING",
        "$JS.API.STREAM.CREATE.DOSSIER", "$JS.API.STREAM.CREATE.PLANNING",
        "$JS.API.STREAM.MSG.GET.*", "$JS.API.DIRECT.GET.*", "$JS.API.DIRECT.GET.*.>",
        "$JS.API.CONSUMER.DURABLE.CREATE.*.*", "$JS.API.CONSUMER.CREATE.*.>",
        "$JS.API.CONSUMER.DELETE.*.*", "$JS.API.CONSUMER.INFO.*.*",
        "$JS.API.CONSUMER.MSG.NEXT.*.*",
        "$JS.ACK.*.>",
        "svc.scoring.health", "svc.scoring.health.*",
    ]


def _gateway() -> list[str]:
    # Calls every service, reads the event streams, keeps the idempotency records and follows
    # the revocations; it cannot publish an event, nor change or delete a stream.
    return [
        "svc.>",
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*", "$JS.API.STREAM.MSG.GET.*",
        "$JS.API.DIRECT.GET.*", "$JS.API.DIRECT.GET.*.>",
        "$JS.API.STREAM.CREATE.KV_IDEMPOTENCY", "$KV.IDEMPOTENCY.>",
        "$JS.API.STREAM.CREATE.KV_REVOCATIONS", "$KV.REVOCATIONS.>",
        "$JS.API.CONSUMER.CREATE.KV_REVOCATIONS", "$JS.API.CONSUMER.CREATE.KV_REVOCATIONS.>",
        "$JS.API.CONSUMER.INFO.KV_REVOCATIONS.*", "$JS.API.CONSUMER.DELETE.KV_REVOCATIONS.*",
        "$JS.FC.KV_REVOCATIONS.>",
        GATEWAY_ALERTS,
    ]


def _anchor() -> list[str]:
    # Reads every event stream (stream info, direct get) and publishes anchors; it cannot
    # append an event, nor change or delete a stream (ANCHORS is created refusing deletes).
    return [
        ANCHOR_SUBJECT,
        "$JS.API.INFO",
        "$JS.API.STREAM.INFO.*", f"$JS.API.STREAM.CREATE.{ANCHOR_STREAM}",
        "$JS.API.STREAM.MSG.GET.*", "$JS.API.DIRECT.GET.*", "$JS.API.DIRECT.GET.*.>",
    ]


def _backup() -> list[str]:
    # The snapshot API (cchc.runtime.backups): the server streams a snapshot's chunks to the
    # caller's inbox and waits for an acknowledgement of each on $JS.SNAPSHOT.ACK.<stream>.<id>.
    # A differential backup reads what a stream gained since the full one by direct get
    # (cchc.runtime.backup_increments). The one thing it writes: how its last backup went
    # (cchc.runtime.backup_status).
    return ["$JS.API.STREAM.NAMES", "$JS.API.STREAM.SNAPSHOT.*", "$JS.SNAPSHOT.ACK.*.*",
            "$JS.API.STREAM.INFO.*", "$JS.API.DIRECT.GET.*", "$JS.API.DIRECT.GET.*.>",
            "$JS.API.STREAM.CREATE.KV_BACKUP_STATUS", "$KV.BACKUP_STATUS.last"]


def permissions(user: str) -> dict[str, Any] | None:
    """The allow-lists of ``user`` (None: everything, for ops)."""
    if user == "ops":
        return None
    if user == "gateway":
        publish = _gateway()
    elif user == ANCHOR:
        publish = [*_anchor(), *_archive_reader()]
    elif user == BACKUP:
        publish = _backup()
    elif user == "scoring":
        publish = [*_scoring(), *_archive_reader()]
    elif user == "dossier":
        publish = [*_own_context(user), *_receipt_book(), *_archive_reader()]
    elif user in SERVICES:
        publish = [*_own_context(user), *_archive_reader()]
    else:
        raise ValueError(f"no NATS user {user!r}")
    subscribe = [f"{inbox_prefix(user)}.>"]
    if user in SERVICES:
        subscribe.insert(0, f"svc.{user}.>")
    if user == "gateway":
        subscribe.insert(0, GATEWAY_ALERTS)
    rules: dict[str, Any] = {"publish": {"allow": publish}, "subscribe": {"allow": subscribe}}
    if user in SERVICES or user == "gateway":  # the gateway answers the digests of the others
        rules["allow_responses"] = True
    return rules


def new_passwords() -> dict[str, str]:
    return {user: secrets.token_urlsafe(24) for user in USERS}


def authorization_block(passwords: dict[str, str]) -> str:
    """The nats-server ``authorization`` block for these users (JSON is valid NATS config)."""
    users = []
    for user in USERS:
        entry: dict[str, Any] = {"user": user, "password": passwords[user]}
        if (rules := permissions(user)) is not None:
            entry["permissions"] = rules
        users.append(entry)
    return "authorization " + json.dumps({"users": users}, indent=2) + "\n"


def url_with_credentials(url: str, user: str, password: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or "127.0.0.1"
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
