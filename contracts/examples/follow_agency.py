"""Follow one agency's events of the CCHC Ledger event log, and resume where it stopped.

An example for another agency's system. It needs this folder's package and nats-py only:

    pip install "./contracts[examples]"
    python contracts/examples/follow_agency.py --agency SNV \\
        --server tls://nats.example.gov.vn:4222 --ca cchc-ca.crt \\
        --user agency-SNV --password "$PASSWORD"

On each event stream (DOSSIER, PLANNING) it keeps one durable pull consumer named
``agency-<AGENCY>``, filtered to ``cchc.<context>.<AGENCY>.>``: the only consumer the agency's NATS
user may create (deploy/nats/accounts.conf). Its replies come to its own inbox prefix,
``_INBOX_agency_<AGENCY>``: the agency's user may subscribe to no other inbox. It fetches in
batches, decodes each envelope with ``cchc.contracts`` (an event of an older schema version is
upcast to the current one), prints it as one JSON line on stdout (only the types ``--types`` names,
read from the ``Cchc-Event-Type`` header), then acknowledges it. The server keeps the consumer's position, so a
restart goes on after the last acknowledged event; SIGINT or SIGTERM lets the batch in hand
finish first. Delivery is at least once: a crash between printing and acknowledging prints that
event again on restart, so a receiver that stores events keys them by ``event_id`` (or by
context and ``position``).

With ``--keyring keyring.json`` (the installation's public keys: ``GET /api/v1/audit/keys``,
fetched once over HTTPS and kept, never taken from NATS), every event is checked before it is
printed: its hash is its content's and is signed by its context's key
(``cchc.contracts.signatures``; needs ``cryptography``, in the ``examples`` extra). One that is
not (written by someone who could publish on NATS without the service's key, or changed on the
way) is not printed: a JSON line on stderr names it and why, and it is acknowledged, so that it
does not come back.
"""

import argparse
import asyncio
import json
import os
import signal
import ssl
import sys
from typing import Any

import nats
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError

from cchc.contracts import EventEnvelope, decode_event
from cchc.contracts.signatures import Keyring, not_genuine
from cchc.contracts.subjects import EVENT_TYPE_HEADER, agency_subjects, stream_name

CONTEXTS = ("dossier", "planning")  # the streams an agency's user may consume


def consumer_name(agency: str) -> str:
    return f"agency-{agency}"


def inbox_prefix(agency: str) -> str:
    """The only inbox prefix the agency's NATS user may subscribe to."""
    return f"_INBOX_agency_{agency}"


async def bind(js: JetStreamContext, context: str, agency: str) -> JetStreamContext.PullSubscription:
    """The agency's durable consumer on this context's stream, created on first use.

    Raises NotFoundError while the stream does not exist yet.
    """
    stream, name = stream_name(context), consumer_name(agency)
    try:
        await js.consumer_info(stream, name)
    except NotFoundError:
        await js.add_consumer(stream, ConsumerConfig(
            name=name, durable_name=name, filter_subject=agency_subjects(context, agency),
            deliver_policy=DeliverPolicy.ALL, ack_policy=AckPolicy.EXPLICIT, ack_wait=30,
            max_ack_pending=1000,
        ))
    return await js.pull_subscribe_bind(name, stream=stream)


def wanted(msg: Any, types: list[str]) -> bool:
    """Whether the event is of a type asked for: read from its header, before decoding (one
    subject per aggregate carries every type of event, so the filter is the subscriber's)."""
    return not types or (msg.headers or {}).get(EVENT_TYPE_HEADER) in types


def refused(msg: Any, context: str, keyring: Keyring | None) -> dict[str, Any] | None:
    """What to say of an event that is not genuine (None: it is, or no keyring to check by)."""
    if keyring is None:
        return None
    envelope = EventEnvelope.from_bytes(msg.data, position=msg.metadata.sequence.stream)
    reason = not_genuine(envelope, keyring)
    if reason is None:
        return None
    return {"refused": reason, "context": context, "position": envelope.position,
            "subject": msg.subject, "event_id": envelope.event_id, "type": envelope.type}


def describe(msg: Any, context: str) -> dict[str, Any]:
    """One event as printed: where it is in the log, its envelope, and the decoded event."""
    envelope = EventEnvelope.from_bytes(msg.data, position=msg.metadata.sequence.stream)
    event = decode_event(envelope.type, envelope.schema_version, envelope.payload)
    return {
        "context": context,
        "position": envelope.position,
        "type": envelope.type,
        "schema_version": envelope.schema_version,
        "event_id": envelope.event_id,
        "agency": envelope.agency,
        "aggregate_id": envelope.aggregate_id,
        "aggregate_version": envelope.aggregate_version,
        "occurred_at": envelope.occurred_at.isoformat(),
        "event": event.model_dump(mode="json"),  # at the current schema version
    }


async def follow(args: argparse.Namespace) -> None:
    keyring = Keyring.from_file(args.keyring) if args.keyring else None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    # The installation's NATS speaks TLS with a private CA: trust that CA (--ca) when given.
    tls = ssl.create_default_context(cafile=args.ca) if args.ca else None
    nc = await nats.connect(args.server, user=args.user, password=args.password,
                            name=f"follow-{args.agency}", max_reconnect_attempts=-1,
                            inbox_prefix=args.inbox_prefix or inbox_prefix(args.agency),
                            tls=tls)
    js = nc.jetstream(timeout=args.timeout)
    subscriptions: dict[str, JetStreamContext.PullSubscription] = {}
    announced = False
    try:
        while not stop.is_set():
            for context in args.contexts:
                if context not in subscriptions:
                    try:
                        subscriptions[context] = await bind(js, context, args.agency)
                    except NotFoundError:
                        continue  # no stream yet: nothing was written in this context
                try:
                    batch = await subscriptions[context].fetch(args.batch, timeout=args.wait)
                except TimeoutError:  # nats-py's own and asyncio's: nothing new yet
                    continue
                # The whole batch is handled, even after a stop signal: an unacknowledged
                # message would wait for its ack_wait before being delivered again.
                for msg in batch:
                    if not wanted(msg, args.types):
                        pass
                    elif (refusal := refused(msg, context, keyring)) is not None:
                        print(json.dumps(refusal, ensure_ascii=False), file=sys.stderr,
                              flush=True)
                    else:
                        print(json.dumps(describe(msg, context), ensure_ascii=False), flush=True)
                    await msg.ack_sync()
            if not announced and len(subscriptions) == len(args.contexts):
                announced = True
                print(f"following {args.agency} on "
                      f"{', '.join(stream_name(c) for c in args.contexts)} "
                      f"with consumer {consumer_name(args.agency)}", file=sys.stderr, flush=True)
            if len(subscriptions) < len(args.contexts):
                await asyncio.wait([asyncio.ensure_future(stop.wait())], timeout=args.wait)
    finally:
        await nc.close()  # every fetched event is acknowledged already


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agency", required=True, help="the agency code, e.g. SNV")
    parser.add_argument("--server", default=os.environ.get("CCHC_NATS_URL", "nats://127.0.0.1:4222"))
    parser.add_argument("--user", default=os.environ.get("CCHC_NATS_USER"),
                        help="default: $CCHC_NATS_USER (e.g. agency-SNV)")
    parser.add_argument("--password", default=os.environ.get("CCHC_NATS_PASSWORD"),
                        help="default: $CCHC_NATS_PASSWORD")
    parser.add_argument("--ca", default=os.environ.get("CCHC_NATS_CA"),
                        help="the installation's CA certificate (PEM); default: $CCHC_NATS_CA")
    parser.add_argument("--inbox-prefix", default=None,
                        help="default: _INBOX_agency_<AGENCY>, the one the server allows")
    parser.add_argument("--contexts", default=",".join(CONTEXTS),
                        type=lambda value: [c for c in value.split(",") if c])
    parser.add_argument("--types", default="",
                        type=lambda value: [t for t in value.split(",") if t],
                        help="only these event types, e.g. DossierReceived,DossierResolved "
                             "(the Cchc-Event-Type header); default: every type")
    parser.add_argument("--keyring", default=os.environ.get("CCHC_KEYRING"),
                        help="the installation's public keys (GET /api/v1/audit/keys): print "
                             "only events signed by their context's key; default: $CCHC_KEYRING")
    parser.add_argument("--batch", type=int, default=100, help="events fetched at a time")
    parser.add_argument("--wait", type=float, default=1.0,
                        help="seconds a fetch waits for new events")
    parser.add_argument("--timeout", type=float, default=5.0, help="JetStream API timeout")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(follow(parse()))
