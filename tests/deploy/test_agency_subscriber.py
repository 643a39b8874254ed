"""contracts/examples/follow_agency.py, run as an agency would run it: its own restricted NATS user
(deploy/nats/accounts.conf, its own inbox prefix) over TLS with the installation's CA (--ca) on a
real secured nats-server. It prints each of its agency's events
exactly once across a stop and a restart, resumes where it stopped, upcasts an old version, and
never sees another agency's events."""

import asyncio
import json
import os
import signal
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import nats
import pytest

from cchc.contracts.dossier import DossierReceived, DossierResolved
from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.planning import PlanIssued
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.streams import ensure_event_stream

EXAMPLE = Path(__file__).resolve().parents[2] / "contracts" / "examples" / "follow_agency.py"
WHEN = datetime(2024, 3, 4, 2, 30, tzinfo=UTC)
META = Metadata(actor="test", correlation_id="c")


class Log:
    """Appends real events (as the services would) with the ops user; remembers their ids."""

    def __init__(self, nc) -> None:
        self.nc = nc
        self.store = EventStore(nc)
        self.ids: dict[str, list[str]] = {"SNV": [], "STTTT": []}

    async def dossier(self, agency: str) -> None:
        dossier_id = uuid.uuid4().hex[:16]
        received = DossierReceived(
            dossier_id=dossier_id, agency=agency, procedure="1.001", channel="online",
            received_at=WHEN, receipt_day=WHEN.date(), processing_days=3, due_at=WHEN,
            applicant={"name": "Phạm Thị Lan"})
        first = await self.store.append(AggregateHistory("dossier", dossier_id), received,
                                        agency=agency, occurred_at=WHEN, meta=META)
        resolved = DossierResolved(resolved_at=WHEN, outcome="approved", due_at=WHEN,
                                   timeliness="on_time")
        second = await self.store.append(
            AggregateHistory("dossier", dossier_id).followed_by(first.envelope), resolved,
            agency=agency, occurred_at=WHEN, meta=META)
        self.ids[agency] += [first.envelope.event_id, second.envelope.event_id]

    async def plan(self, agency: str) -> None:
        plan_id = uuid.uuid4().hex[:16]
        event = PlanIssued(plan_id=plan_id, agency=agency, year=2024, title="Kế hoạch CCHC",
                           issued_at=WHEN)
        appended = await self.store.append(AggregateHistory("planning", plan_id), event,
                                           agency=agency, occurred_at=WHEN, meta=META)
        self.ids[agency].append(appended.envelope.event_id)

    async def old_resolution(self, agency: str) -> None:
        """A DossierResolved stored at schema version 1 (before ``reason``)."""
        dossier_id = uuid.uuid4().hex[:16]
        envelope = EventEnvelope(
            event_id=uuid.uuid4().hex, type="DossierResolved", schema_version=1,
            context="dossier", agency=agency, aggregate_id=dossier_id, aggregate_version=1,
            occurred_at=WHEN, recorded_at=WHEN, actor="test", correlation_id="c",
            payload={"resolved_at": WHEN.isoformat(), "outcome": "rejected",
                     "due_at": WHEN.isoformat(), "timeliness": "late"},
        ).sealed("0" * 64)
        await self.nc.jetstream().publish(
            f"cchc.dossier.{agency}.{dossier_id}", envelope.to_bytes(),
            stream="DOSSIER", headers={"Nats-Msg-Id": envelope.event_id})
        self.ids[agency].append(envelope.event_id)

    async def round(self) -> None:
        """A few events of each agency, interleaved, in both contexts."""
        await self.dossier("STTTT")
        await self.dossier("SNV")
        await self.plan("STTTT")
        await self.plan("SNV")
        await self.dossier("STTTT")


class Follower:
    """The example as a subprocess; its stdout lines, parsed."""

    def __init__(self, url: str, ca: Path, *options: str) -> None:
        self.url = url
        self.ca = ca
        self.options = options
        self.process: asyncio.subprocess.Process | None = None
        self.printed: list[dict] = []

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("CCHC_NATS") and k != "SSL_CERT_FILE"}  # --ca, nothing else
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, str(EXAMPLE), "--agency", "SNV", "--server", self.url,
            "--ca", str(self.ca), "--wait", "0.3", *self.options, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=env)

    async def read_until(self, count: int, timeout: float = 30) -> None:
        assert self.process is not None and self.process.stdout is not None

        async def read() -> None:
            while len(self.printed) < count:
                line = await self.process.stdout.readline()
                if not line:
                    stderr = await self.process.stderr.read()
                    raise AssertionError(f"the follower ended: {stderr.decode()}")
                self.printed.append(json.loads(line))

        try:
            await asyncio.wait_for(read(), timeout)
        except TimeoutError:
            self.process.kill()
            _, stderr = await self.process.communicate()
            raise AssertionError(f"{len(self.printed)} of {count} events printed; the "
                                 f"follower said: {stderr.decode()}") from None

    async def stop(self) -> str:
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(self.process.communicate(), 30)
        self.printed += [json.loads(line) for line in out.decode().splitlines() if line]
        assert self.process.returncode == 0, err.decode()
        return err.decode()


@pytest.fixture
async def ops(secured_nats, nats_user_url, nats_certs, deploy_tls):
    nc = await nats.connect(nats_user_url(secured_nats, "ops"),
                            tls=deploy_tls.tls_context(nats_certs / "ca.crt"))
    for context in ("dossier", "planning"):
        await ensure_event_stream(nc.jetstream(), context)
    yield nc
    await nc.close()


async def test_the_example_follows_one_agency_and_resumes_where_it_stopped(
    secured_nats, nats_user_url, ops, nats_certs
):
    log = Log(ops)
    await log.round()
    await log.old_resolution("SNV")
    follower = Follower(nats_user_url(secured_nats, "agency-SNV"), nats_certs / "ca.crt")

    await follower.start()
    await follower.read_until(len(log.ids["SNV"]))
    await log.dossier("SNV")  # live, while it runs
    await follower.read_until(len(log.ids["SNV"]))
    stderr = await follower.stop()
    assert "following SNV on DOSSIER, PLANNING with consumer agency-SNV" in stderr
    first_run = len(follower.printed)

    # Written while it is stopped: the next run starts with these, and nothing before them.
    await log.round()
    await log.old_resolution("STTTT")
    await follower.start()
    await follower.read_until(len(log.ids["SNV"]))
    await log.plan("SNV")
    await follower.read_until(len(log.ids["SNV"]))
    await follower.stop()

    printed = [line["event_id"] for line in follower.printed]
    assert sorted(printed) == sorted(log.ids["SNV"]), "each of its events exactly once"
    assert len(printed) == len(set(printed))
    assert {line["agency"] for line in follower.printed} == {"SNV"}
    assert not set(printed) & set(log.ids["STTTT"])
    assert first_run < len(printed)
    # Positions only go forward within each stream, across the restart.
    for context in ("dossier", "planning"):
        positions = [line["position"] for line in follower.printed if line["context"] == context]
        assert positions == sorted(positions) and positions, context
    # Decoded with the contracts: the v1 resolution came out at the current version, with an
    # empty reason.
    resolutions = [line for line in follower.printed if line["type"] == "DossierResolved"]
    assert sorted(line["schema_version"] for line in resolutions) == [1, 3, 3, 3]
    (old,) = [line for line in resolutions if line["schema_version"] == 1]
    assert old["event"]["reason"] == "" and old["event"]["outcome"] == "rejected"
    types = {line["type"] for line in follower.printed}
    assert types == {"DossierReceived", "DossierResolved", "PlanIssued"}


async def test_with_the_keyring_only_events_signed_by_their_context_are_printed(
    secured_nats, nats_user_url, ops, nats_certs, tmp_path,
):
    """Someone who can publish on NATS (here ops) but holds no service's key: an unsigned event,
    one signed with another context's key, and a genuine one altered after it was signed are
    each named on stderr and never printed; the services' own events are."""
    from cchc.contracts.signatures import Keyring
    from cchc.runtime.event_signatures import sign_envelope
    from cchc.runtime.signing_keys import signing_key_from_text, new_private_key_text

    dossier_key = signing_key_from_text("dossier", new_private_key_text())
    planning_key = signing_key_from_text("planning", new_private_key_text())
    keyring = tmp_path / "keyring.json"
    keyring.write_text(Keyring(keys=[dossier_key.public_key(),
                                     planning_key.public_key()]).to_json())
    genuine = Log(ops)
    genuine.store = EventStore(ops, signer=dossier_key)
    await genuine.dossier("SNV")
    genuine.store = EventStore(ops, signer=planning_key)
    await genuine.plan("SNV")

    forged: dict[str, str] = {}

    async def publish(envelope: EventEnvelope) -> None:
        await ops.jetstream().publish(
            f"cchc.dossier.SNV.{envelope.aggregate_id}", envelope.to_bytes(), stream="DOSSIER",
            headers={"Nats-Msg-Id": envelope.event_id})

    def resolution(dossier_id: str) -> EventEnvelope:
        return EventEnvelope(
            event_id=uuid.uuid4().hex, type="DossierResolved", schema_version=3,
            context="dossier", agency="SNV", aggregate_id=dossier_id, aggregate_version=1,
            occurred_at=WHEN, recorded_at=WHEN, actor="forger", correlation_id="c",
            payload={"resolved_at": WHEN.isoformat(), "outcome": "approved",
                     "due_at": WHEN.isoformat(), "timeliness": "early", "reason": ""},
        ).sealed("0" * 64)

    unsigned = resolution(uuid.uuid4().hex[:16])
    other_key = sign_envelope(resolution(uuid.uuid4().hex[:16]), planning_key)
    signed = sign_envelope(resolution(uuid.uuid4().hex[:16]), dossier_key)
    altered = signed.model_copy(update={"payload": {**signed.payload, "timeliness": "late"}})
    for envelope, reason in ((unsigned, "unsigned"),
                             (other_key, "signed with the planning key, not the dossier one"),
                             (altered, "its hash is not the hash of its content")):
        await publish(envelope)
        forged[envelope.event_id] = reason
    genuine.store = EventStore(ops, signer=dossier_key)
    await genuine.dossier("SNV")  # after them: the follower has read past them when it prints it

    follower = Follower(nats_user_url(secured_nats, "agency-SNV"), nats_certs / "ca.crt",
                        "--keyring", str(keyring))
    await follower.start()
    await follower.read_until(len(genuine.ids["SNV"]))
    stderr = await follower.stop()
    assert sorted(line["event_id"] for line in follower.printed) == sorted(genuine.ids["SNV"])
    refusals = {line["event_id"]: line["refused"] for line in map(json.loads, (
        line for line in stderr.splitlines() if line.startswith("{")))}
    assert set(refusals) == set(forged)
    for event_id, reason in forged.items():
        assert refusals[event_id].startswith(reason), (refusals[event_id], reason)
