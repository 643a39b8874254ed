"""A log written with subject scheme 1 (``cchc.<ctx>.<agency>.<aggregate>.<EventType>``) is
migrated to one subject per aggregate: every event at the same position, byte for byte, its hash
chain intact, and the services go on with it (the embedded stack migrates at start)."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import pytest
from nats.js.api import StreamConfig

from api_steps import act
from cchc.cli.installation import Installation
from cchc.contracts.dossier import AgencyRegistered, DossierReceived, ProcedurePublished
from cchc.contracts.envelope import GENESIS_HASH, EventEnvelope
from cchc.contracts.events import Event
from cchc.contracts.subjects import SUBJECT_SCHEME, parse_event_subject
from cchc.dossier.aggregates import procedure_id
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.streams import OldSubjectScheme, ensure_event_stream, event_stream_config
from cchc.runtime.subject_migration import drop_legacy, legacy_name, migrate_context
from conftest import Api, start_stack, stop_stack

WHEN = datetime(2022, 7, 11, 2, 30, tzinfo=UTC)  # 9:30 in Hà Nội


class SchemeOneLog:
    """Appends as the event store did before scheme 2: a subject per event type."""

    def __init__(self, js) -> None:  # type: ignore[no-untyped-def]
        self.js = js
        self.heads: dict[str, tuple[int, str, int]] = {}  # aggregate -> (version, hash, position)

    async def append(self, agency: str, aggregate: str, event: Event) -> EventEnvelope:
        version, head, last = self.heads.get(aggregate, (0, GENESIS_HASH, 0))
        envelope = EventEnvelope(
            event_id=uuid.uuid4().hex, type=event.event_type(), schema_version=event.schema_version,
            context="dossier", agency=agency, aggregate_id=aggregate, aggregate_version=version + 1,
            occurred_at=WHEN, recorded_at=WHEN, actor="officer-old", correlation_id="c-old",
            payload=event.model_dump(mode="json"),
        ).sealed(head)
        ack = await self.js.publish(
            f"cchc.dossier.{agency}.{aggregate}.{envelope.type}", envelope.to_bytes(),
            stream="DOSSIER", headers={
                "Nats-Msg-Id": envelope.event_id,
                "Nats-Expected-Last-Subject-Sequence": str(last),
                "Nats-Expected-Last-Subject-Sequence-Subject": f"cchc.dossier.*.{aggregate}.>",
                "Cchc-Event-Type": envelope.type,
            })
        self.heads[aggregate] = (version + 1, envelope.hash, ack.seq)
        return envelope.model_copy(update={"position": ack.seq})


async def write_scheme_one_log(nc) -> tuple[str, str, list[EventEnvelope]]:  # type: ignore[no-untyped-def]
    """An old DOSSIER stream (its config as it was: no scheme in its metadata) with an agency,
    a procedure and dossiers, interleaved."""
    js = nc.jetstream()
    config: StreamConfig = event_stream_config("dossier")
    config.metadata, config.subjects = None, ["cchc.dossier.>"]  # as scheme 1 made it
    await js.add_stream(config)
    log = SchemeOneLog(js)
    agency, code = f"S{uuid.uuid4().hex[:6].upper()}", f"1.{uuid.uuid4().int % 10**6:06d}.H26"
    written = [
        await log.append(agency, f"agency-{agency}", AgencyRegistered(
            code=agency, name="Sở Tư pháp", group="department")),
        await log.append(agency, procedure_id(code), ProcedurePublished(
            code=code, name="Cấp phiếu lý lịch tư pháp", agency=agency, field="Lý lịch tư pháp",
            processing_days=3, online_level="full", published_at=WHEN - timedelta(days=30))),
    ]
    for _ in range(3):
        dossier = uuid.uuid4().hex[:16]
        written.append(await log.append(agency, dossier, DossierReceived(
            dossier_id=dossier, agency=agency, procedure=code, channel="online",
            received_at=WHEN, receipt_day=WHEN.date(), processing_days=3,
            due_at=WHEN + timedelta(days=3), applicant={"name": "Trần Văn Bình"})))
    return agency, code, written


async def test_a_scheme_one_stream_is_refused_then_migrated_in_place(tmp_path: Path):
    server = NatsServer(store_dir=tmp_path / "js").start()
    try:
        nc = await nats.connect(server.url)
        js = nc.jetstream()
        _, _, written = await write_scheme_one_log(nc)
        with pytest.raises(OldSubjectScheme):
            await ensure_event_stream(js, "dossier")

        migrated = await migrate_context(nc, "dossier")
        assert (migrated.events, migrated.already) == (len(written), False)
        info = await js.stream_info("DOSSIER")
        assert info.config.metadata["cchc_subject_scheme"] == str(SUBJECT_SCHEME)
        assert info.config.subjects == ["cchc.dossier.*.*"] and not info.config.sources
        assert info.config.deny_delete and info.config.allow_direct
        for envelope in written:
            message = await js.get_msg("DOSSIER", envelope.position)
            context, agency, aggregate = parse_event_subject(message.subject)
            assert (agency, aggregate) == (envelope.agency, envelope.aggregate_id)
            stored = EventEnvelope.from_bytes(message.data, message.seq)
            assert stored == envelope  # the same position, the same bytes: the chain verifies
            assert stored.hash == stored.compute_hash()
        await ensure_event_stream(js, "dossier")  # now accepted
        # The old log is kept until a check passes again; a second run has nothing to do.
        assert (await js.stream_info(legacy_name("dossier"))).state.messages == len(written)
        assert (await migrate_context(nc, "dossier")).already
        assert await drop_legacy(nc, "dossier")
        with pytest.raises(Exception):
            await js.stream_info(legacy_name("dossier"))
        await nc.close()
    finally:
        server.stop()


async def test_the_embedded_stack_migrates_an_old_log_at_start_and_goes_on(tmp_path: Path):
    data_dir = tmp_path / "installation"
    installation = Installation(data_dir)
    installation.prepare()
    server = NatsServer(store_dir=installation.nats_dir,
                        config_file=installation.write_nats_config()).start()
    try:
        nc = await nats.connect(installation.nats_url_of(server.url, "ops"))
        agency, code, written = await write_scheme_one_log(nc)
        await nc.close()
    finally:
        server.stop()

    stack, task, base_url = await start_stack(data_dir)
    try:
        api = Api(base_url, stack.installation.jwt_secret())
        officer = api.as_("officer", agency)
        dossier = written[-1]
        position = {"X-Min-Position": str(written[-1].position)}
        detail = await officer.get(f"/api/v1/dossiers/{dossier.aggregate_id}", headers=position)
        assert detail.status_code == 200, detail.text
        assert detail.json()["status"] == "in_progress" and detail.json()["version"] == 1

        # A new command on a migrated aggregate: one subject, the version checked on it.
        resolved = await act(officer, dossier.aggregate_id, "resolution",
                             {"resolved_at": datetime.now(UTC).isoformat(), "outcome": "approved"},
                             **{"If-Match": '"1"'})
        assert resolved.status_code == 200, resolved.text
        assert int(resolved.headers["X-Event-Position"]) == len(written) + 1
        audit = (await api.as_("inspector").get(
            f"/api/v1/audit/dossiers/{dossier.aggregate_id}")).json()
        assert audit["valid"] and audit["events"] == 2

        nc = await nats.connect(stack.nats_url_of("ops"))
        message = await nc.jetstream().get_msg("DOSSIER", len(written) + 1)
        assert message.subject == f"cchc.dossier.{agency}.{dossier.aggregate_id}"
        assert message.headers["Cchc-Event-Type"] == "DossierResolved"
        await nc.close()
        await api.close()
    finally:
        await stop_stack(stack, task)


def test_one_subject_per_aggregate_in_the_asyncapi_document():
    from cchc.contracts.asyncapi import asyncapi_document

    document = asyncapi_document()
    assert document["info"]["x-cchc-subject-scheme"] == SUBJECT_SCHEME
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {f"cchc.{c}.{{agency}}.{{aggregate_id}}"
                         for c in ("dossier", "planning", "scoring")}
    received = document["components"]["messages"]["DossierReceived"]
    assert json.dumps(received["headers"]).count("DossierReceived") == 1  # the header filter
