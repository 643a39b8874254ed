"""Archived years (issue 18): a closed year's finished dossiers leave the stream for the archive
bucket, a replay still counts them, their chains still verify, and a restore puts them back.

On the embedded stack (real nats-server with its users, SQLite and PostgreSQL): the archive is
made as ``ops``; the rebuilds run as the ``dossier`` user, with its own permissions.
"""

import asyncio
import gzip
import json
from datetime import UTC, datetime

import nats
import pytest

from cchc.contracts.dossier_commands import DossierStatsQuery
from cchc.contracts.envelope import EventEnvelope
from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.contracts.subjects import EVENT_TYPE_HEADER, stream_name
from cchc.dossier.archiving import DOSSIER_ARCHIVE
from cchc.dossier.projections import DossierReadModel
from cchc.dossier.queries import DossierQueries
from cchc.runtime.archive_store import EVENTS, ArchiveShelf
from cchc.runtime.archiving import ArchiveFailed, archive_year, restore_archive, verify_archive
from cchc.runtime.endpoints import inbox_prefix
from cchc.runtime.eventstore import ArchivedHistory, EventStore
from cchc.runtime.log_verification import verify_log
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine
from api_steps import act, agency_with_procedure, receive

ADMIN = CommandMeta(principal=Principal(sub="t", role=Role.ADMIN), correlation_id="t")
YEARS = {"2022": ("2022-01-01", "2022-12-31"), "2023": ("2023-01-01", "2023-12-31")}


async def _dossiers(admin, procedure: str) -> dict[str, list[str]]:
    """In 2022: three resolved, one withdrawn, one still open; in 2023: two resolved."""
    made: dict[str, list[str]] = {"finished_2022": [], "open_2022": [], "finished_2023": []}
    for day in range(3, 8):
        dossier = (await receive(admin, procedure, f"2022-03-0{day}T09:00:00+07:00")).json()
        if day <= 5:
            answer = await act(admin, dossier["id"], "resolution", {
                "resolved_at": f"2022-03-{day + 1:02d}T09:00:00+07:00", "outcome": "approved"})
            made["finished_2022"].append(dossier["id"])
        elif day == 6:
            answer = await act(admin, dossier["id"], "withdrawal", {
                "withdrawn_at": "2022-03-07T09:00:00+07:00", "reason": "công dân rút"})
            made["finished_2022"].append(dossier["id"])
        else:
            made["open_2022"].append(dossier["id"])
            continue
        assert answer.status_code == 200, answer.text
    for day in (3, 4):
        dossier = (await receive(admin, procedure, f"2023-05-0{day}T09:00:00+07:00")).json()
        await act(admin, dossier["id"], "resolution", {
            "resolved_at": f"2023-05-0{day + 1}T09:00:00+07:00", "outcome": "approved"})
        made["finished_2023"].append(dossier["id"])
    return made


async def _live_stats(admin, agency: str, position: int) -> dict[str, dict]:
    stats = {}
    for year, (start, end) in YEARS.items():
        answer = await admin.get("/api/v1/dossier-stats",
                                 params={"from": start, "to": end, "agency": agency},
                                 headers={"X-Min-Position": str(position)})
        assert answer.status_code == 200, answer.text
        stats[year] = answer.json()
    return stats


async def _rebuilt_stats(stack, tmp_path, agency: str, name: str) -> dict[str, dict]:
    """A fresh read model replayed as the dossier service would (its user, its permissions)."""
    nc = await nats.connect(stack.nats_url_of("dossier"), inbox_prefix=inbox_prefix("dossier"))
    engine = create_engine(f"sqlite:///{tmp_path / f'{name}.db'}")
    try:
        runner = ProjectionRunner(nc, engine, DossierReadModel(), consumer_name=f"rebuild-{name}")
        await runner.drop()
        await runner.catch_up()
        await runner.close()
        queries = DossierQueries(engine, runner)
        stats = {}
        for year, (start, end) in YEARS.items():
            answer = await queries.dossier_stats(Request[DossierStatsQuery](
                meta=ADMIN, body={"from": start, "to": end, "agency": agency}))
            stats[year] = answer.result
        return stats
    finally:
        await engine.dispose()
        await nc.close()


async def _resolved_dossier(admin, year: int) -> str:
    """A dossier received and resolved in April of ``year``: finished, ready to archive."""
    _, procedure = await agency_with_procedure(admin, processing_days=2)
    dossier = (await receive(admin, procedure, f"{year}-04-07T09:00:00+07:00")).json()
    answer = await act(admin, dossier["id"], "resolution",
                       {"resolved_at": f"{year}-04-08T09:00:00+07:00", "outcome": "approved"})
    assert answer.status_code == 200, answer.text
    return dossier["id"]


CLOSED = datetime(2026, 1, 5, tzinfo=UTC)  # "now" for archive_year: every year before is closed


async def _subjects(nc) -> int:
    info = await nc.request(f"$JS.API.STREAM.INFO.{stream_name('dossier')}", b"", timeout=10)
    return json.loads(info.data)["state"]["num_subjects"]


async def test_an_archived_year_is_counted_by_a_replay_verifies_and_comes_back(
    stack_api, tmp_path
):
    admin = stack_api.admin
    stack = stack_api.stack
    agency, procedure = await agency_with_procedure(admin, processing_days=2)
    made = await _dossiers(admin, procedure)
    ops = await nats.connect(stack.nats_url_of("ops"))
    store = EventStore(ops)
    head = await store.last_position("dossier")
    live = await _live_stats(admin, agency, head)
    assert live["2022"]["received"]["total"] == 5
    assert live["2023"]["received"]["total"] - live["2023"]["received"]["carried_over"] == 2

    subjects_before = await _subjects(ops)
    signer = stack.installation.signing_key("dossier")  # the log's record of the cut is signed
    await stack.anchor_signer.anchor_once()  # anchored before the purge
    result = await archive_year(ops, "dossier", 2022, DOSSIER_ARCHIVE, by="kiem-tra",
                                now=CLOSED, signer=signer)
    manifest = result.manifest
    assert manifest is not None and manifest.year == 2022 and manifest.generation == 1
    # The finished dossiers of 2022 (this module's other tests made none) and only they.
    assert result.purged_subjects == manifest.aggregates >= len(made["finished_2022"])
    assert result.changed_meanwhile == []
    # The dossiers left; the log's record of the cut (one aggregate) arrived.
    assert await _subjects(ops) == subjects_before - result.purged_subjects + 1
    for dossier_id in made["finished_2022"]:
        assert not (await store.load("dossier", dossier_id)).exists
    for dossier_id in made["open_2022"] + made["finished_2023"]:
        assert (await store.load("dossier", dossier_id)).exists
    # The read model keeps its rows: the dossier is still shown, and counted.
    shown = await admin.get(f"/api/v1/dossiers/{made['finished_2022'][0]}")
    assert shown.status_code == 200 and shown.json()["status"] == "resolved"
    assert await verify_archive(ops, manifest) == manifest.events
    record = await store.load("dossier", "archive-2022-1")
    assert [e.type for e in record.envelopes] == ["YearArchived"]
    assert record.envelopes[0].payload["segment_hash"] == manifest.segment_hash
    assert record.envelopes[0].actor == "kiem-tra"

    # A replay merges the archive back in at its positions: the same figures as live.
    assert await _rebuilt_stats(stack, tmp_path, agency, "after-archive") == live

    # The log goes on: a new dossier lands after the archived positions.
    later = await receive(admin, procedure, "2023-06-01T09:00:00+07:00")
    assert later.status_code == 201

    await stack.anchor_signer.anchor_once()
    restored = await restore_archive(ops, manifest, DOSSIER_ARCHIVE, by="kiem-tra",
                                     signer=signer)
    assert restored.events == manifest.events and restored.skipped == []
    record = await store.load("dossier", "archive-2022-1")
    assert [e.type for e in record.envelopes] == ["YearArchived", "YearRestored"]
    for dossier_id in made["finished_2022"]:
        history = await store.load("dossier", dossier_id)
        assert history.exists and history.envelopes[0].aggregate_version == 1
        audit = (await admin.get(f"/api/v1/audit/dossiers/{dossier_id}")).json()
        assert audit["valid"] is True and audit["events"] == history.version
    # The live projection passed over the restored copies: nothing counted twice.
    head = await store.last_position("dossier")
    again = await _live_stats(admin, agency, head)
    assert again["2022"] == live["2022"]
    assert again["2023"]["received"]["total"] == live["2023"]["received"]["total"] + 1
    # A restored dossier takes commands again.
    returned = await act(admin, made["finished_2022"][0], "result-return",
                         {"returned_at": "2022-03-10T09:00:00+07:00"})
    assert returned.status_code == 200, returned.text
    assert (await ArchiveShelf(ops).manifests("dossier"))[0].restored_at is not None

    # Archived again: the restored events leave without a second copy; the dossier that moved
    # on after the restore goes into generation 2 with its new event only.
    await stack.anchor_signer.anchor_once()
    again_result = await archive_year(ops, "dossier", 2022, DOSSIER_ARCHIVE, by="kiem-tra",
                                      now=CLOSED, signer=signer)
    assert again_result.manifest is not None and again_result.manifest.generation == 2
    assert again_result.manifest.events == 1
    manifests = await ArchiveShelf(ops).manifests("dossier")
    assert [m.restored_at for m in manifests] == [None, None]
    head = await store.last_position("dossier")
    final_live = await _live_stats(admin, agency, head)
    assert await _rebuilt_stats(stack, tmp_path, agency, "after-second") == final_live
    # Every chain, signature and anchor still checks out: the archived events are read from
    # the archive, the restored copies left out (signed history, issue 14).
    await stack.anchor_signer.anchor_once()
    verified = await verify_log(ops, stack.installation.keyring())
    assert verified.ok, [f.line() for f in verified.event_failures + verified.anchor_failures]
    assert verified.anchors >= 4
    await ops.close()


async def test_a_broken_chain_or_an_open_year_archives_nothing(stack_api):
    dossier_id = await _resolved_dossier(stack_api.admin, 2021)
    ops = await nats.connect(stack_api.stack.nats_url_of("ops"))
    store = EventStore(ops)
    history = await store.load("dossier", dossier_id)
    # Someone with the right to publish rewrites the resolution: same subject, a forged body.
    last = history.envelopes[-1]
    forged = last.model_copy(update={"payload": {**last.payload, "outcome": "rejected"},
                                     "aggregate_version": last.aggregate_version + 1,
                                     "prev_hash": last.hash, "event_id": "forged"})
    subject = f"cchc.dossier.{last.agency}.{last.aggregate_id}"
    await ops.jetstream().publish(subject, forged.to_bytes(), stream=stream_name("dossier"),
                                  headers={EVENT_TYPE_HEADER: forged.type})
    subjects = await _subjects(ops)
    with pytest.raises(ArchiveFailed, match="hash chain"):
        await archive_year(ops, "dossier", 2021, DOSSIER_ARCHIVE, by="t",
                           now=CLOSED)
    assert await _subjects(ops) == subjects
    assert [m for m in await ArchiveShelf(ops).manifests("dossier") if m.year == 2021] == []
    with pytest.raises(ArchiveFailed, match="not over"):
        await archive_year(ops, "dossier", 2026, DOSSIER_ARCHIVE, by="t",
                           now=datetime(2026, 6, 1, tzinfo=UTC))
    await ops.close()


async def test_an_archive_changed_in_storage_fails_verification(stack_api):
    await _resolved_dossier(stack_api.admin, 2020)
    ops = await nats.connect(stack_api.stack.nats_url_of("ops"))
    manifest = (await archive_year(ops, "dossier", 2020, DOSSIER_ARCHIVE, by="t",
                                   now=CLOSED)).manifest
    assert manifest is not None
    bucket = await ops.jetstream().object_store("CCHC_ARCHIVE")
    stored = (await bucket.get(f"{manifest.prefix}/{EVENTS}")).data
    lines = gzip.decompress(stored).decode().splitlines()
    first = json.loads(lines[0])
    envelope = EventEnvelope.model_validate_json(first["data"])
    first["data"] = envelope.model_copy(update={"actor": "someone-else"}).to_bytes().decode()
    lines[0] = json.dumps(first, ensure_ascii=False)
    await bucket.put(f"{manifest.prefix}/{EVENTS}", gzip.compress(("\n".join(lines) + "\n").encode()))
    with pytest.raises(ArchiveFailed, match="not the ones archived"):
        await verify_archive(ops, manifest)
    # A manifest rewritten to match would still disagree with the log's record of the cut.
    shelf = ArchiveShelf(ops)
    await shelf.put_manifest(manifest.model_copy(update={"events": manifest.events + 1}))
    rewritten = [m for m in await shelf.manifests("dossier") if m.year == 2020][0]
    with pytest.raises(ArchiveFailed, match="log's record of the cut differ in events"):
        await verify_archive(ops, rewritten)
    await ops.close()


async def test_the_cli_lists_and_verifies_archives(stack_api, capsys):
    from cchc.cli.main import main

    await _resolved_dossier(stack_api.admin, 2019)
    url = stack_api.stack.nats_url_of("ops")
    assert await asyncio.to_thread(main, ["archive", "create", "dossier", "2019", "--nats-url",
                                          url, "--by", "Sở Nội vụ"]) == 0
    assert await asyncio.to_thread(main, ["archive", "list", "--nats-url", url]) == 0
    assert await asyncio.to_thread(main, ["archive", "verify", "dossier", "2019",
                                          "--nats-url", url]) == 0
    out = capsys.readouterr().out
    assert "dossier/2019/1: 2 events of 1 aggregates" in out and "by Sở Nội vụ" in out
    assert "dossier/2019/1: 2 events check out" in out
    assert await asyncio.to_thread(main, ["archive", "verify", "dossier", "2018",
                                          "--nats-url", url]) == 1
    assert "no archive of dossier 2018" in capsys.readouterr().err


async def test_a_history_whose_beginning_is_archived_is_refused_not_misread(stack_api):
    """An event that reached an aggregate while its year was being archived stays in the stream
    without its beginning: loading it says so (409), it never passes for the whole history."""
    ops = await nats.connect(stack_api.stack.nats_url_of("ops"))
    first = EventEnvelope(
        event_id="e1", type="DossierResolved", schema_version=1, context="dossier",
        agency="SLATE", aggregate_id="straggler-1", aggregate_version=4,
        occurred_at=datetime(2023, 1, 2, tzinfo=UTC), recorded_at=datetime(2023, 1, 2, tzinfo=UTC),
        actor="t", correlation_id="t", payload={}, prev_hash="a" * 64,
    ).sealed("a" * 64)
    await ops.jetstream().publish("cchc.dossier.SLATE.straggler-1", first.to_bytes(),
                                  stream=stream_name("dossier"),
                                  headers={EVENT_TYPE_HEADER: first.type})
    with pytest.raises(ArchivedHistory, match="archive"):
        await EventStore(ops).load("dossier", "straggler-1")
    answer = await stack_api.admin.get("/api/v1/audit/dossiers/straggler-1")
    assert answer.status_code == 409 and "archive" in answer.json()["detail"], answer.text
    await ops.close()


async def test_a_projection_behind_when_its_events_are_archived_takes_them_from_the_archive(
    stack_api, tmp_path
):
    admin = stack_api.admin
    stack = stack_api.stack
    agency, procedure = await agency_with_procedure(admin, processing_days=2)
    nc = await nats.connect(stack.nats_url_of("dossier"), inbox_prefix=inbox_prefix("dossier"))
    engine = create_engine(f"sqlite:///{tmp_path / 'behind.db'}")
    runner = ProjectionRunner(nc, engine, DossierReadModel(), consumer_name="behind")
    try:
        await _resolved_dossier_of(admin, procedure, "2017-03-06")
        await runner.drop()
        await runner.catch_up()  # it has the first dossier, then stops following
        for day in ("2017-03-07", "2017-03-08"):
            await _resolved_dossier_of(admin, procedure, day)
        ops = await nats.connect(stack.nats_url_of("ops"))
        result = await archive_year(ops, "dossier", 2017, DOSSIER_ARCHIVE, by="t", now=CLOSED)
        await ops.close()
        assert result.manifest is not None and result.manifest.aggregates >= 3
        await runner.catch_up()  # the two it missed are only in the archive now
        await runner.close()
        stats = await DossierQueries(engine, runner).dossier_stats(Request[DossierStatsQuery](
            meta=ADMIN, body={"from": "2017-01-01", "to": "2017-12-31", "agency": agency}))
        assert stats.result["resolved"]["total"] == 3
    finally:
        await engine.dispose()
        await nc.close()


async def _resolved_dossier_of(admin, procedure: str, day: str) -> str:
    dossier = (await receive(admin, procedure, f"{day}T09:00:00+07:00")).json()
    answer = await act(admin, dossier["id"], "resolution",
                       {"resolved_at": f"{day}T15:00:00+07:00", "outcome": "approved"})
    assert answer.status_code == 200, answer.text
    return dossier["id"]
