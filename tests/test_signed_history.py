"""Signed history through the whole stack (issue 14, item 3): the services sign what they append,
the keys are published, the anchor signer anchors the log, the report prints the anchor, and an
event forged with a valid hash chain but without the service's key is named by `cchc verify`
and flagged by the audit.

The tests of this module run in order on one stack: the forgery comes last.
"""

import argparse
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import nats

from api_steps import publish_procedure, receive, register_agency, unique
from cchc.runtime import backups
from cchc.cli.verify import run as run_verify
from cchc.contracts.anchors import short_fingerprint
from cchc.contracts.dossier import DossierWithdrawn
from cchc.contracts.subjects import EVENT_TYPE_HEADER, event_subject
from cchc.runtime.eventstore import EventStore
from cchc.runtime.ids import new_id

LOCAL = timezone(timedelta(hours=7))


async def received_dossier(stack_api) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    admin = stack_api.admin
    agency = unique("K")
    await register_agency(admin, agency)
    procedure = f"P-{agency}"
    await publish_procedure(admin, agency, procedure, 5)
    now = datetime.now(LOCAL).replace(microsecond=0).isoformat()
    answer = await receive(admin, procedure, now)
    assert answer.status_code == 201, answer.text
    return agency, answer.json()["id"]


def verify_args(stack_api, *anchors: str, **options) -> argparse.Namespace:  # type: ignore[no-untyped-def]
    return argparse.Namespace(**{"data_dir": stack_api.stack.installation.root, "nats_url": None,
                                 "keyring": None, "anchor": list(anchors), "backup": None,
                                 "scratch_dir": None, "no_manifest": False, "identity": None,
                                 **options})


async def backed_up(stack_api, folder: Path, base: Path | None = None) -> argparse.Namespace:  # type: ignore[no-untyped-def]
    """``cchc backup create`` of the running stack, as ops (differential, given the full backup
    ``base``); the arguments to verify it."""
    ops = await nats.connect(stack_api.stack.nats_url_of("ops"))
    try:
        extended = backups.FullBackup.checked(base) if base is not None else None
        assert await backups.create(ops, folder, base=extended) == 0
    finally:
        await ops.close()
    return verify_args(stack_api, backup=folder,
                       keyring=str(stack_api.stack.installation.keyring_file))


async def test_events_are_signed_by_their_service_and_the_keys_published(stack_api):
    _, dossier = await received_dossier(stack_api)

    keys = (await stack_api.as_("inspector").get("/api/v1/audit/keys")).json()["keys"]
    audit = (await stack_api.as_("inspector").get(f"/api/v1/audit/dossiers/{dossier}")).json()

    assert {key["owner"] for key in keys} == {"dossier", "planning", "scoring", "anchor"}
    dossier_key = next(key["key_id"] for key in keys if key["owner"] == "dossier")
    assert audit["valid"] and audit["signatures_valid"]
    assert [s["status"] for s in audit["signatures"]] == ["signed"]
    assert audit["signatures"][0]["key_id"] == dossier_key
    served = (await stack_api.admin.get("/asyncapi")).json()
    assert {k["key_id"] for k in served["info"]["x-cchc-signing-keys"]} == {
        key["key_id"] for key in keys}


async def test_the_report_footer_prints_the_covering_anchor(stack_api):
    agency, dossier = await received_dossier(stack_api)
    anchor = await stack_api.stack.anchor_signer.anchor_once()
    assert anchor is not None
    short = short_fingerprint(anchor.fingerprint())
    inspector = stack_api.as_("inspector")
    year = datetime.now(LOCAL).year

    page = await inspector.get(f"/api/v1/reports/agency?agency={agency}&year={year}",
                               headers={"Accept": "text/html"})
    report = (await inspector.get(f"/api/v1/reports/agency?agency={agency}&year={year}")).json()
    audit = (await inspector.get(f"/api/v1/audit/dossiers/{dossier}")).json()
    anchors = (await inspector.get("/api/v1/audit/anchors?limit=1")).json()

    footer = page.text[page.text.index("<footer"):]
    assert f"Mốc kiểm chứng nhật ký: {short}" in footer
    assert report["anchor"]["short_fingerprint"] == short
    assert audit["anchor"]["short_fingerprint"] == short and audit["anchor"]["valid"]
    assert audit["signatures"][0]["anchored"]
    assert anchors["items"][0]["fingerprint"] == anchor.fingerprint()
    assert await run_verify(verify_args(stack_api, short)) == 0


async def test_a_backup_is_verified_in_a_scratch_server_of_its_own(stack_api, tmp_path, capsys):
    await received_dossier(stack_api)
    capsys.readouterr()
    assert await run_verify(verify_args(stack_api)) == 0
    live = capsys.readouterr().out
    args = await backed_up(stack_api, tmp_path / "backup")
    capsys.readouterr()

    assert await run_verify(args) == 0
    printed = capsys.readouterr().out
    dossier_line = next(line for line in live.splitlines() if line.startswith("DOSSIER:"))
    assert dossier_line in printed.splitlines()  # every event of the log, from the backup
    assert "verified: no failure" in printed

    # A differential backup beside it: the full one's snapshot and the events since, verified
    # together as one log.
    await received_dossier(stack_api)
    assert await run_verify(verify_args(stack_api)) == 0
    live = capsys.readouterr().out
    later = await backed_up(stack_api, tmp_path / "later", base=tmp_path / "backup")
    kinds = {entry["name"]: entry["kind"] for entry in json.loads(
        (tmp_path / "later" / backups.MANIFEST).read_text())["streams"]}
    assert kinds["DOSSIER"] == "increment", kinds
    assert await run_verify(later) == 0
    printed = capsys.readouterr().out
    dossier_line = next(line for line in live.splitlines() if line.startswith("DOSSIER:"))
    assert dossier_line in printed.splitlines() and "verified: no failure" in printed
    empty = tmp_path / "empty"
    empty.mkdir()
    assert await run_verify(verify_args(stack_api, backup=empty, keyring=args.keyring)) == 1
    assert "holds no stream backup" in capsys.readouterr().err
    assert await run_verify(verify_args(stack_api, backup=args.backup)) == 2  # no keyring
    missing = verify_args(stack_api, backup=args.backup, keyring=str(tmp_path / "none.json"))
    assert await run_verify(missing) == 2
    assert "cannot read the keyring" in capsys.readouterr().err


async def test_an_embedded_installation_is_backed_up_running_and_restored_into_a_new_folder(
        stack_api, tmp_path, capsys):
    """`cchc backup create --data-dir` while `cchc up` runs, `restore --data-dir` into a new
    folder: the log comes back whole and its signatures verify there, the keyring having come
    with the backup."""
    import asyncio

    from cchc.cli.main import main

    await received_dossier(stack_api)
    root = stack_api.stack.installation.root
    folder, restored = tmp_path / "backup", tmp_path / "restored"
    assert await asyncio.to_thread(
        main, ["backup", "create", str(folder), "--data-dir", str(root)]) == 0
    assert (folder / "manifest.json").exists() and (folder / "keyring.json").exists()
    assert await asyncio.to_thread(
        main, ["backup", "restore", str(folder), "--data-dir", str(restored)]) == 0
    assert await asyncio.to_thread(  # the running one refuses: its streams exist
        main, ["backup", "restore", str(folder), "--data-dir", str(root)]) == 1
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["verify", "--data-dir", str(root)]) == 0
    live = capsys.readouterr().out
    assert await asyncio.to_thread(main, ["verify", "--data-dir", str(restored)]) == 0
    again = capsys.readouterr().out
    dossier_line = next(line for line in live.splitlines() if line.startswith("DOSSIER:"))
    assert dossier_line in again.splitlines() and "verified: no failure" in again


async def test_a_log_without_a_stream_yet_verifies_and_says_so(tmp_path):
    """A backup taken before the services made their streams (the scheduled backup at a fresh
    installation's start): before, a traceback (a direct get on a stream that does not exist)."""
    from cchc.runtime.log_verification import verify_log
    from cchc.runtime.natsserver import NatsServer
    from cchc.runtime.signing_keys import Keyring

    server = NatsServer(store_dir=tmp_path / "empty").start()
    try:
        nc = await nats.connect(server.url)
        try:
            result = await verify_log(nc, Keyring())
        finally:
            await nc.close()
    finally:
        server.stop()
    assert result.ok and [s.stream for s in result.streams if not s.exists] == [
        "DOSSIER", "PLANNING", "SCORING"]


async def test_a_stream_missing_after_an_anchor_covered_it_fails_on_that_anchor(
        stack_api, tmp_path, capsys):
    import shutil

    await received_dossier(stack_api)
    anchored = await stack_api.stack.anchor_signer.anchor_once()
    assert anchored is not None
    args = await backed_up(stack_api, tmp_path / "backup")
    shutil.rmtree(args.backup / "DOSSIER")
    (args.backup / "manifest.json").unlink()
    args.no_manifest = True
    capsys.readouterr()
    assert await run_verify(args) == 1
    printed = capsys.readouterr().out
    assert "DOSSIER: no such stream (nothing written to it yet)" in printed
    head = anchored.head("DOSSIER")
    assert f"DOSSIER has no event at {head.last_seq}, the head it anchors (removed?)" in printed


async def test_a_forged_event_is_named_by_verify_and_flagged_by_the_audit(stack_api, capsys,
                                                                          tmp_path):
    agency, dossier = await received_dossier(stack_api)
    # Someone holding NATS credentials that may publish to the stream (here ops), not the
    # dossier service's key: a withdrawal chained correctly after the dossier's receipt.
    ops = await nats.connect(stack_api.stack.nats_url_of("ops"))
    try:
        history = await EventStore(ops).load("dossier", dossier)
        last = history.envelopes[-1]
        event = DossierWithdrawn(withdrawn_at=datetime.now(UTC), reason="rút hộ")
        forged = last.model_copy(update={
            "event_id": new_id(), "type": event.event_type(),
            "payload": event.model_dump(mode="json"),
            "aggregate_version": last.aggregate_version + 1, "recorded_at": datetime.now(UTC),
            "key_id": None, "signature": None, "position": None, "traceparent": None,
        }).sealed(history.head_hash)
        await ops.jetstream().publish(
            event_subject("dossier", agency, dossier), forged.to_bytes(), stream="DOSSIER",
            headers={"Nats-Msg-Id": forged.event_id, EVENT_TYPE_HEADER: forged.type,
                     "Nats-Expected-Last-Subject-Sequence": str(history.last_position)})
    finally:
        await ops.close()

    audit = (await stack_api.as_("inspector").get(f"/api/v1/audit/dossiers/{dossier}")).json()
    capsys.readouterr()
    verified = await run_verify(verify_args(stack_api))
    printed = capsys.readouterr().out

    assert audit["chain_valid"] and not audit["signatures_valid"] and not audit["valid"]
    assert [s["status"] for s in audit["signatures"]] == ["signed", "invalid"]
    assert verified == 1
    failed = [line for line in printed.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1 and forged.event_id in failed[0] and dossier in failed[0], printed
    # And in a backup taken since: the backup carries the forgery, and its check names it.
    args = await backed_up(stack_api, tmp_path / "backup")
    capsys.readouterr()
    assert await run_verify(args) == 1
    from_backup = [line for line in capsys.readouterr().out.splitlines()
                   if line.startswith("FAILED")]
    assert from_backup == failed
