"""The embedded stack's NATS is authenticated, with the deployment's permissions.

`cchc up` gives every process its own NATS user (passwords made once, 0600 in the data folder)
and the server the same allow-lists as deploy/nats/accounts.conf: an anonymous connection is
refused, only the gateway may send requests to the services, and nobody reads another's inbox.
"""

import asyncio
import logging
import re
from pathlib import Path

import nats
import pytest
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout

from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.runtime import nats_auth
from cchc.dossier.projections import DossierReadModel
from cchc.dossier.tables import agencies
from cchc.runtime.endpoints import inbox_prefix
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine
from sqlalchemy import select

from api_steps import register_agency

ACCOUNTS = Path(__file__).resolve().parents[1] / "deploy" / "nats" / "accounts.conf"


def deployed_permissions(user: str) -> tuple[set[str], set[str], bool]:
    """The publish and subscribe allow-lists of ``user`` in deploy/nats/accounts.conf, and
    whether it may answer requests (``allow_responses``)."""
    text = ACCOUNTS.read_text()
    block = text[text.index(f"user: {user},"):]
    block = block[: block.index("\n      }")]
    block = "\n".join(line.split("#")[0] for line in block.splitlines())  # no comments
    publish = block[block.index("publish"):block.index("subscribe")]
    subscribe = block[block.index("subscribe"):]
    return (set(re.findall(r'"([^"]+)"', publish)), set(re.findall(r'"([^"]+)"', subscribe)),
            "allow_responses: true" in block)


@pytest.mark.parametrize("user", ["gateway", *nats_auth.SERVICES, nats_auth.ANCHOR,
                                  nats_auth.BACKUP])
def test_the_embedded_permissions_are_the_deployed_ones(user):
    rules = nats_auth.permissions(user)
    assert rules is not None
    publish, subscribe, responds = deployed_permissions(user)
    assert set(rules["publish"]["allow"]) == publish
    assert set(rules["subscribe"]["allow"]) == subscribe
    assert rules.get("allow_responses", False) == responds
    assert responds == (user in (*nats_auth.SERVICES, "gateway"))


def admin_request(endpoint_body: dict | None = None) -> bytes:
    meta = CommandMeta(principal=Principal(sub="forger", role=Role.ADMIN), correlation_id="x")
    return Request(meta=meta, body=endpoint_body or {}).model_dump_json().encode()


async def test_an_anonymous_connection_is_refused(stack_api):
    with pytest.raises((NatsError, OSError)):
        await nats.connect(stack_api.stack.nats.url, allow_reconnect=False, connect_timeout=2,
                           max_reconnect_attempts=0)


async def test_a_wrong_password_is_refused(stack_api):
    url = nats_auth.url_with_credentials(stack_api.stack.nats.url, "gateway", "not-the-password")
    with pytest.raises((NatsError, OSError)):
        await nats.connect(url, allow_reconnect=False, connect_timeout=2, max_reconnect_attempts=0)


async def test_only_the_gateway_may_send_a_service_request(stack_api):
    stack = stack_api.stack
    violations: list[str] = []

    async def on_error(error: Exception) -> None:
        violations.append(str(error))

    # The gateway's own credentials get an answer: the forgery below fails for its user alone.
    gateway = await nats.connect(stack.nats_url_of("gateway"), inbox_prefix=inbox_prefix("gateway"))
    answered = await gateway.request("svc.dossier.list-agencies", admin_request(), timeout=5)
    assert b'"ok":true' in answered.data
    await gateway.close()

    for user in ("planning", "scoring"):
        forger = await nats.connect(stack.nats_url_of(user), inbox_prefix=inbox_prefix(user),
                                    error_cb=on_error)
        with pytest.raises((NatsTimeout, NoRespondersError)):
            await forger.request("svc.dossier.list-dossiers", admin_request(), timeout=1)
        await forger.close()
    assert any("permissions violation" in v.lower() for v in violations), violations


async def test_nobody_reads_another_connections_inbox(stack_api):
    stack = stack_api.stack
    violations: list[str] = []

    async def on_error(error: Exception) -> None:
        violations.append(str(error))

    snoop = await nats.connect(stack.nats_url_of("dossier"), inbox_prefix=inbox_prefix("dossier"),
                               error_cb=on_error)
    seen = []

    async def keep(msg) -> None:  # type: ignore[no-untyped-def]
        seen.append(msg)

    await snoop.subscribe("_INBOX_gateway.>", cb=keep)
    await snoop.subscribe("_INBOX.>", cb=keep)
    await snoop.flush()
    await asyncio.sleep(0.2)
    # The gateway works meanwhile: its replies go to its inbox only.
    assert (await stack_api.admin.get("/api/v1/agencies")).status_code == 200
    await asyncio.sleep(0.3)
    await snoop.close()
    assert seen == []
    assert sum("permissions violation" in v.lower() for v in violations) >= 2, violations


async def test_only_the_gateway_reads_or_sends_alert_digests(stack_api):
    """A digest names citizens: no service and no anchor signer may follow the gateway
    replicas' digests, nor hand the live streams a forged one."""
    stack = stack_api.stack
    violations: list[str] = []

    async def on_error(error: Exception) -> None:
        violations.append(str(error))

    gateway = await nats.connect(stack.nats_url_of("gateway"), inbox_prefix=inbox_prefix("gateway"))
    got: list[bytes] = []

    async def keep(msg) -> None:  # type: ignore[no-untyped-def]
        got.append(msg.data)

    await gateway.subscribe(nats_auth.GATEWAY_ALERTS, cb=keep)
    await gateway.flush()
    for user in (*nats_auth.SERVICES, nats_auth.ANCHOR):
        other = await nats.connect(stack.nats_url_of(user), inbox_prefix=inbox_prefix(user),
                                   error_cb=on_error)
        await other.subscribe(nats_auth.GATEWAY_ALERTS, cb=keep)
        await other.publish(nats_auth.GATEWAY_ALERTS, f'{{"agency": "{user}"}}'.encode())
        await other.flush()
        await asyncio.sleep(0.2)
        await other.close()
    await gateway.publish(nats_auth.GATEWAY_ALERTS, b'{"agency": "GATEWAY"}')
    await gateway.flush()
    await asyncio.sleep(0.3)
    await gateway.close()
    assert got == [b'{"agency": "GATEWAY"}']  # the gateway's own, to the gateway only
    assert sum("permissions violation" in v.lower() for v in violations) >= 8, violations


async def test_no_service_may_purge_a_stream_or_write_the_archive(stack_api):
    """Purges (how archived years leave the stream) and the archive bucket are ops' alone."""
    stack = stack_api.stack
    for user in ("dossier", "planning", "scoring", "gateway"):
        violations: list[str] = []

        async def on_error(error: Exception, seen: list[str] = violations) -> None:
            seen.append(str(error))

        nc = await nats.connect(stack.nats_url_of(user), inbox_prefix=inbox_prefix(user),
                                error_cb=on_error)
        with pytest.raises((NatsTimeout, NoRespondersError)):
            await nc.request("$JS.API.STREAM.PURGE.DOSSIER",
                             b'{"filter": "cchc.dossier.>"}', timeout=1)
        with pytest.raises((NatsTimeout, NoRespondersError)):
            await nc.request("$JS.API.STREAM.CREATE.OBJ_CCHC_ARCHIVE", b"{}", timeout=1)
        await nc.publish("$O.CCHC_ARCHIVE.M.forged", b"{}")
        await nc.flush()
        await asyncio.sleep(0.1)
        await nc.close()
        assert sum("permissions violation" in v.lower() for v in violations) >= 3, (user,
                                                                                     violations)


async def test_only_the_anchor_signer_publishes_anchors_and_it_appends_no_event(stack_api):
    """The anchor signer reads the streams and writes anchors; no service writes an anchor, and
    the anchor signer cannot append an event (signed history, issue 14)."""
    stack = stack_api.stack
    for user, forbidden in (("dossier", "audit.anchors"), ("gateway", "audit.anchors"),
                            ("anchor", "cchc.dossier.SO-X.forged")):
        violations: list[str] = []

        async def on_error(error: Exception, seen: list[str] = violations) -> None:
            seen.append(str(error))

        nc = await nats.connect(stack.nats_url_of(user), inbox_prefix=inbox_prefix(user),
                                error_cb=on_error)
        with pytest.raises((NatsTimeout, NoRespondersError)):
            await nc.jetstream(timeout=1).publish(forbidden, b"{}")
        await nc.close()
        assert any("permissions violation" in v.lower() for v in violations), (user, violations)
    anchor = await nats.connect(stack.nats_url_of("anchor"), inbox_prefix=inbox_prefix("anchor"))
    try:
        info = await anchor.jetstream().stream_info("DOSSIER")  # it reads the streams
        assert info.config.name == "DOSSIER"
    finally:
        await anchor.close()


async def test_a_service_replays_through_a_reader_process_with_its_own_permissions(
        stack_api, tmp_path, caplog):
    """A replay's reader process connects as the service it reads for, with its inbox prefix,
    and gets the whole log: not a quiet fallback to the slower in-process read."""
    await register_agency(stack_api.as_("admin"), "SO-READER")
    stack = stack_api.stack
    nc = await nats.connect(stack.nats_url_of("dossier"), inbox_prefix=inbox_prefix("dossier"))
    engine = create_engine(f"sqlite:///{tmp_path / 'replay.db'}")
    runner = ProjectionRunner(nc, engine, DossierReadModel(), consumer_name="reader-auth-test",
                              replay_reader_from=1)
    try:
        with caplog.at_level(logging.INFO, logger="cchc"):
            head = await runner.catch_up()
        assert head > 0 and "with a reader process" in caplog.text
        assert "ended early" not in caplog.text
        async with engine.connect() as conn:
            codes = (await conn.execute(select(agencies.c.code))).scalars().all()
        assert "SO-READER" in codes
    finally:
        await runner.close()
        await engine.dispose()
        await nc.close()


async def test_the_dossier_service_may_follow_its_calendar(stack_api):
    """Its receipts read the working calendar from memory, kept current by a consumer of its own
    (cchc.runtime.followed_aggregate): the dossier user may create and delete that consumer."""
    from cchc.dossier.aggregates import CALENDAR_ID
    from cchc.dossier.handlers import CALENDAR
    from cchc.runtime.eventstore import EventStore
    from cchc.runtime.followed_aggregate import FollowedAggregate

    nc = await nats.connect(stack_api.stack.nats_url_of("dossier"),
                            inbox_prefix=inbox_prefix("dossier"))
    followed = FollowedAggregate(EventStore(nc), "dossier", CALENDAR_ID, CALENDAR)
    try:
        await followed.state()
        assert followed._consumer is not None  # following, not reading the log each time
    finally:
        await followed.close()
        await nc.close()
