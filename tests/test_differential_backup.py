"""Differential backups on real nats-servers: what each stream gained since a full backup,
restored on top of it message for message, at the same positions with the same headers; a
stream that did more than grow is snapshotted whole; a differential backup whose full one is
missing, another or damaged restores nothing."""

import asyncio
import gzip
import json
import shutil
from pathlib import Path

import nats
import pytest
from nats.js.api import KeyValueConfig, StreamConfig
from pyrage import x25519

from cchc.cli.main import main
from cchc.runtime import backups
from cchc.runtime.backup_crypto import new_identity
from cchc.runtime.backup_increments import extends
from cchc.runtime.backup_job import Taken, base_for, to_prune
from cchc.runtime.backups import MANIFEST, FullBackup
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.stream_reader import stored_messages


async def append(js, start: int, count: int) -> None:  # type: ignore[no-untyped-def]
    """Events as the event store appends them: a message id and the expected position of the
    aggregate's subject, both kept with the message."""
    for n in range(start, start + count):
        subject = f"cchc.dossier.SNV.d{n % 7}"
        before = n // 7  # earlier events of this subject
        await js.publish(subject, f"hồ sơ {n}".encode() * 30, headers={
            "Nats-Msg-Id": f"event-{n}", "Nats-Expected-Last-Subject-Sequence":
                str(0 if before == 0 else (before - 1) * 7 + n % 7 + 1)})


async def everything(url: str) -> dict[str, list[tuple[int, str, dict, bytes]]]:
    """Every stream's messages: position, subject, headers and bytes."""
    nc = await nats.connect(url)
    try:
        found = {}
        for name in await backups.stream_names(nc):
            found[name] = [(m.position, m.subject, m.headers, m.data)
                           async for m in stored_messages(nc, name)]
        return found
    finally:
        await nc.close()


@pytest.fixture
def servers(tmp_path):  # type: ignore[no-untyped-def]
    source = NatsServer(store_dir=tmp_path / "source").start()
    target = NatsServer(store_dir=tmp_path / "target").start()
    yield source, target
    source.stop()
    target.stop()


async def full_then_more(source: NatsServer, root: Path, to=None):  # type: ignore[no-untyped-def]
    """A full backup of 300 events and two buckets, then 50 events more, a new key in one
    bucket, a changed key in the other and a new stream: the differential backup of that."""
    nc = await nats.connect(source.url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="DOSSIER", subjects=["cchc.dossier.>"],
                                     allow_direct=True))
    await append(js, 0, 300)
    idempotency = await js.create_key_value(KeyValueConfig(bucket="IDEMPOTENCY", history=1,
                                                               direct=True))
    receipts = await js.create_key_value(KeyValueConfig(bucket="RECEIPTS", history=1, direct=True))
    await idempotency.put("k1", b"first answer")
    await receipts.put("SNV-2026-12-07", b"41")
    full = root / "2026-12-01T010000Z"
    assert await backups.create(nc, full, report=lambda line: None, to=to) == 0

    await append(js, 300, 50)
    await idempotency.put("k2", b"second answer")  # one more message, none gone
    await receipts.put("SNV-2026-12-07", b"42")  # the older revision goes
    await js.add_stream(StreamConfig(name="PLANNING", subjects=["cchc.planning.>"],
                                     allow_direct=True))
    await js.publish("cchc.planning.SNV.p1", b"plan")
    differential = root / "2026-12-02T010000Z"
    assert await backups.create(nc, differential, report=lambda line: None, to=to,
                                base=FullBackup.checked(full)) == 0
    await nc.close()
    return full, differential


async def test_a_differential_backup_holds_what_grew_and_restores_every_message_in_place(
    tmp_path, servers,
):
    source, target = servers
    full, differential = await full_then_more(source, tmp_path / "backups")
    manifest = json.loads((differential / MANIFEST).read_text())
    kinds = {entry["name"]: entry["kind"] for entry in manifest["streams"]}
    assert kinds == {"DOSSIER": "increment", "KV_IDEMPOTENCY": "increment",
                     "KV_RECEIPTS": "snapshot", "PLANNING": "snapshot"}
    assert manifest["base"]["name"] == full.name
    dossier = {e["name"]: e for e in manifest["streams"]}["DOSSIER"]
    assert (dossier["since_seq"], dossier["last_seq"]) == (300, 350)
    # The 50 events since, not the 300 before.
    stored = gzip.decompress((differential / "DOSSIER" / "messages.bin.gz").read_bytes())
    assert b"event-300" in stored and b"event-349" in stored and b"event-299" not in stored

    assert await asyncio.to_thread(
        main, ["backup", "restore", str(differential), "--nats-url", target.url]) == 0
    assert await everything(target.url) == await everything(source.url)

    # The restored log goes on where the original did: the next event of a subject expects
    # the subject's position it had.
    nc = await nats.connect(target.url)
    try:
        await append(nc.jetstream(), 350, 1)
        assert (await nc.jetstream().stream_info("DOSSIER")).state.last_seq == 351
    finally:
        await nc.close()


async def test_an_encrypted_differential_backup_restores_with_its_identity_alone(
    tmp_path, servers, capsys,
):
    source, target = servers
    secret, public = new_identity()
    (tmp_path / "key.txt").write_text(secret + "\n")
    _, differential = await full_then_more(source, tmp_path / "backups",
                                           to=x25519.Recipient.from_str(public))
    stored = (differential / "DOSSIER" / "messages.bin.gz.age").read_bytes()
    assert stored.startswith(b"age-encryption.org/v1\n") and b"event-300" not in stored
    restore = ["backup", "restore", str(differential), "--nats-url", target.url]
    assert await asyncio.to_thread(main, restore) == 1
    assert "give its identity" in capsys.readouterr().err
    assert await asyncio.to_thread(
        main, [*restore, "--identity", str(tmp_path / "key.txt")]) == 0
    assert await everything(target.url) == await everything(source.url)


async def test_a_differential_backup_whose_full_one_is_gone_other_or_damaged_restores_nothing(
    tmp_path, servers, capsys,
):
    source, target = servers
    root = tmp_path / "backups"
    full, differential = await full_then_more(source, root)
    restore = ["backup", "restore", str(differential), "--nats-url", target.url]

    moved = root / "elsewhere"
    full.rename(moved)
    assert await asyncio.to_thread(main, restore) == 1
    assert (f"a differential backup of {full.name}, which is not beside it"
            in capsys.readouterr().err)

    # Another full backup under its name: not the one this one was taken against.
    nc = await nats.connect(source.url)
    assert await backups.create(nc, full, report=lambda line: None) == 0
    await nc.close()
    assert await asyncio.to_thread(main, restore) == 1
    assert f"{full.name}/{MANIFEST} is not the one" in capsys.readouterr().err

    shutil.rmtree(full)
    moved.rename(full)
    snapshot = full / "DOSSIER" / "stream.snapshot"
    snapshot.write_bytes(snapshot.read_bytes()[:-10])
    assert await asyncio.to_thread(main, restore) == 1
    assert (f"the full backup {full.name} it extends: DOSSIER: stream.snapshot does not match"
            in capsys.readouterr().err)
    assert await everything(target.url) == {}


async def test_messages_cut_short_or_a_differential_folder_taken_for_a_full_one_are_refused(
    tmp_path, servers, capsys,
):
    from cchc.runtime.backup_files import BackupError
    from cchc.runtime.backup_increments import decoded

    source, target = servers
    _, differential = await full_then_more(source, tmp_path / "backups")
    stored = (differential / "DOSSIER" / "messages.bin.gz").read_bytes()

    async def chunks(data: bytes):  # type: ignore[no-untyped-def]
        for start in range(0, len(data), 1000):
            yield data[start:start + 1000]

    assert len([m async for m in decoded(chunks(stored))]) == 50
    with pytest.raises(BackupError, match="cut short"):
        [m async for m in decoded(chunks(stored[:len(stored) // 2]))]
    assert await asyncio.to_thread(main, ["backup", "restore", str(differential), "--nats-url",
                                          target.url, "--no-manifest"]) == 1
    assert ("DOSSIER, KV_IDEMPOTENCY: no snapshot (a differential backup's messages"
            in capsys.readouterr().err)
    assert await everything(target.url) == {}


async def test_a_message_that_lands_elsewhere_than_its_position_stops_the_restore(
    tmp_path, servers, monkeypatch,
):
    """Something published into the stream between its snapshot's restore and the messages
    since (nothing should, the services stopped): each of those would land one position late."""
    from cchc.runtime.backup_files import BackupError

    source, target = servers
    _, differential = await full_then_more(source, tmp_path / "backups")
    restore_snapshot = backups.restore_stream

    async def and_one_more(nc, folder, replicas, identity=None):  # type: ignore[no-untyped-def]
        state = await restore_snapshot(nc, folder, replicas, identity)
        if folder.name == "DOSSIER":
            await nc.jetstream().publish("cchc.dossier.SNV.intruder", b"{}")
        return state

    monkeypatch.setattr(backups, "restore_stream", and_one_more)
    nc = await nats.connect(target.url)
    try:
        with pytest.raises(BackupError, match="DOSSIER: position 301 went to DOSSIER at 302"):
            await backups.restore(nc, differential, None, report=lambda line: None)
    finally:
        await nc.close()


async def test_a_new_key_starts_with_a_full_backup(tmp_path, servers):
    """A restore opens a differential backup and its full one with one identity: the job's
    first backup to a new key is full, and a differential one to another key is refused."""
    from datetime import UTC, datetime

    from cchc.runtime.backup_files import BackupError
    from cchc.runtime.backup_job import BackupSettings, back_up_once

    source, _ = servers
    root = tmp_path / "backups"
    full, _ = await full_then_more(source, root)  # in the clear
    _, public = new_identity()
    nc = await nats.connect(source.url)
    try:
        with pytest.raises(BackupError, match="encrypted to no key.*take a full one"):
            await backups.create(nc, root / "refused", report=lambda line: None,
                                 to=x25519.Recipient.from_str(public),
                                 base=FullBackup.checked(full))
    finally:
        await nc.close()
    assert not (root / "refused").exists()  # nothing written
    settings = BackupSettings(nats_url=source.url, folder=root, recipient=f" {public}\n")
    first = await back_up_once(settings, datetime(2026, 12, 3, 1, 0, tzinfo=UTC))
    second = await back_up_once(settings, datetime(2026, 12, 4, 1, 0, tzinfo=UTC))
    assert "base" not in json.loads((first / MANIFEST).read_text())
    assert json.loads((second / MANIFEST).read_text())["base"]["name"] == first.name


async def test_a_stream_made_anew_since_the_full_backup_is_snapshotted_whole(tmp_path, servers):
    source, target = servers
    root = tmp_path / "backups"
    full, _ = await full_then_more(source, root)
    nc = await nats.connect(source.url)
    js = nc.jetstream()
    await js.delete_stream("DOSSIER")
    await js.add_stream(StreamConfig(name="DOSSIER", subjects=["cchc.dossier.>"],
                                     allow_direct=True))
    await append(js, 0, 350)  # as many as before, other bytes: a different stream
    await js.publish("cchc.dossier.SNV.other", b"not in the full backup")
    later = root / "2026-12-03T010000Z"
    assert await backups.create(nc, later, report=lambda line: None,
                                base=FullBackup.checked(full)) == 0
    await nc.close()
    kinds = {e["name"]: e["kind"] for e in json.loads((later / MANIFEST).read_text())["streams"]}
    assert kinds["DOSSIER"] == "snapshot"
    assert await asyncio.to_thread(
        main, ["backup", "restore", str(later), "--nats-url", target.url]) == 0
    assert await everything(target.url) == await everything(source.url)


BASE = {"name": "DOSSIER", "created": "2026-12-01T00:00:00Z", "messages": 300, "last_seq": 300}
CONFIG = {"name": "DOSSIER", "subjects": ["cchc.dossier.>"], "allow_direct": True}


def info(messages: int, last_seq: int, **config) -> dict:  # type: ignore[no-untyped-def]
    return {"created": BASE["created"], "config": {**CONFIG, **config},
            "state": {"messages": messages, "last_seq": last_seq}}


async def test_cchc_backup_create_with_a_base_takes_a_differential_one_beside_it(
    tmp_path, servers, capsys,
):
    source, _ = servers
    full, _ = await full_then_more(source, tmp_path / "backups")
    later, elsewhere = tmp_path / "backups" / "by-hand", tmp_path / "elsewhere"
    create = ["backup", "create", "--nats-url", source.url, "--base"]
    assert await asyncio.to_thread(main, [*create, str(full), str(elsewhere)]) == 1
    assert "is not beside" in capsys.readouterr().err and not elsewhere.exists()
    assert await asyncio.to_thread(main, [*create, str(full), str(later)]) == 0
    manifest = json.loads((later / MANIFEST).read_text())
    assert manifest["base"]["name"] == full.name
    assert {e["name"]: e["kind"] for e in manifest["streams"]}["DOSSIER"] == "increment"
    assert "messages since 2026-12-01T010000Z" in capsys.readouterr().out


def test_a_stream_extends_its_full_backup_only_when_it_did_nothing_but_grow():
    assert extends(BASE, CONFIG, info(350, 350))
    assert extends(BASE, CONFIG, info(300, 300))  # unchanged: no message to keep
    assert not extends(BASE, CONFIG, info(349, 350))  # one removed, before or after
    assert not extends(BASE, CONFIG, info(200, 200))  # purged and smaller
    assert not extends(BASE, CONFIG, {**info(350, 350), "created": "2026-12-02T00:00:00Z"})
    assert not extends(BASE, CONFIG, info(350, 350, num_replicas=3))
    assert not extends(BASE, {**CONFIG, "allow_direct": False}, info(350, 350, allow_direct=False))
    assert not extends({**BASE, "created": None}, CONFIG, info(350, 350))  # an older release's


FULL, DIFF = Taken(whole=True), Taken(whole=True, base="2026-12-01T010000Z")


def test_every_nth_backup_is_full_and_the_others_extend_the_newest_full_one():
    assert base_for({}, 7) is None
    taken = {"2026-12-01T010000Z": FULL}
    assert base_for(taken, 7) == "2026-12-01T010000Z"
    assert base_for(taken, 1) is None
    for day in range(2, 8):
        taken[f"2026-12-0{day}T010000Z"] = DIFF
    assert base_for(taken, 7) is None  # six differential ones: the seventh is full
    assert base_for(taken, 8) == "2026-12-01T010000Z"
    taken["2026-12-08T010000Z"] = Taken(whole=False)  # unfinished: not counted, not a base
    assert base_for(taken, 8) == "2026-12-01T010000Z"


def test_pruning_keeps_the_full_backup_that_a_kept_differential_one_extends():
    whole = {"2026-11-24T010000Z": True, "2026-12-01T010000Z": True, "2026-12-02T010000Z": True,
             "2026-12-03T010000Z": True, "2026-12-04T010000Z": False}
    bases = {"2026-12-02T010000Z": "2026-12-01T010000Z",
             "2026-12-03T010000Z": "2026-12-01T010000Z"}
    assert to_prune(whole, keep=1, bases=bases) == ["2026-11-24T010000Z", "2026-12-02T010000Z"]
    assert to_prune(whole, keep=3, bases=bases) == ["2026-11-24T010000Z"]
    assert to_prune(whole, keep=1) == ["2026-11-24T010000Z", "2026-12-01T010000Z",
                                       "2026-12-02T010000Z"]
