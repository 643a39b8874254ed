"""`cchc backup create|restore` on real nats-servers: every stream (events and KV buckets) snapshot
through the server's API and restored into another server, message for message."""

import nats
import pytest
from nats.js.api import KeyValueConfig, StreamConfig

from cchc.cli.main import main
from cchc.runtime.natsserver import NatsServer


async def test_a_backup_restores_every_stream_and_bucket_into_a_fresh_server(tmp_path):
    source = NatsServer(store_dir=tmp_path / "source").start()
    target = NatsServer(store_dir=tmp_path / "target").start()
    try:
        nc = await nats.connect(source.url)
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="DOSSIER", subjects=["cchc.dossier.>"]))
        for n in range(500):
            await js.publish(f"cchc.dossier.SNV.d{n % 40}", f"event {n}".encode() * 50,
                             headers={"Nats-Msg-Id": f"id-{n}"})
        kv = await js.create_key_value(KeyValueConfig(bucket="IDEMPOTENCY", history=1))
        await kv.put("key-1", b"first answer")
        await nc.close()

        backup = tmp_path / "backup"
        # main() runs its own event loop: in a thread, as from a shell
        import asyncio

        assert await asyncio.to_thread(
            main, ["backup", "create", str(backup), "--nats-url", source.url]) == 0
        assert {p.name for p in backup.iterdir()} == {"DOSSIER", "KV_IDEMPOTENCY",
                                                      "manifest.json"}
        assert await asyncio.to_thread(
            main, ["backup", "restore", str(backup), "--nats-url", target.url]) == 0
        # A second restore finds the streams there and refuses.
        assert await asyncio.to_thread(
            main, ["backup", "restore", str(backup), "--nats-url", target.url]) == 1

        nc = await nats.connect(target.url)
        js = nc.jetstream()
        info = await js.stream_info("DOSSIER")
        assert (info.state.messages, info.state.last_seq) == (500, 500)
        message = await js.get_msg("DOSSIER", 321)
        assert message.data == b"event 320" * 50 and message.subject == "cchc.dossier.SNV.d0"
        kv = await js.key_value("IDEMPOTENCY")
        assert (await kv.get("key-1")).value == b"first answer"
        await nc.close()
    finally:
        source.stop()
        target.stop()


async def test_a_damaged_backup_is_named_by_verify_not_restored(tmp_path, capsys):
    """`cchc verify --backup` checks the manifest first: a snapshot damaged in storage fails
    there, before any restore; without a manifest, the scratch server's restore names it."""
    import argparse
    import asyncio

    from cchc.runtime import backups
    from cchc.cli.verify import run as run_verify

    source = NatsServer(store_dir=tmp_path / "source").start()
    try:
        nc = await nats.connect(source.url)
        await nc.jetstream().add_stream(StreamConfig(name="DOSSIER", subjects=["cchc.dossier.>"]))
        for n in range(500):
            await nc.jetstream().publish(f"cchc.dossier.SNV.d{n % 40}", b"event" * 40)
        assert await backups.create(nc, tmp_path / "backup") == 0
        await nc.close()
    finally:
        source.stop()
    snapshot = tmp_path / "backup" / "DOSSIER" / "stream.snapshot"
    snapshot.write_bytes(snapshot.read_bytes()[: snapshot.stat().st_size // 2])
    keyring = tmp_path / "keyring.json"
    keyring.write_text('{"keys": []}')
    capsys.readouterr()
    args = argparse.Namespace(backup=tmp_path / "backup", keyring=str(keyring), nats_url=None,
                              anchor=[], scratch_dir=tmp_path, data_dir=None,
                              no_manifest=False, identity=None)
    assert await asyncio.wait_for(run_verify(args), 60) == 1
    assert ("the backup cannot be used: DOSSIER: stream.snapshot does not match its SHA-256"
            in capsys.readouterr().err)
    # A folder without a manifest (`nats stream backup`) is restored unchecked: the server
    # names the damage.
    (tmp_path / "backup" / "manifest.json").unlink()
    args.no_manifest = True
    assert await asyncio.wait_for(run_verify(args), 60) == 1
    assert "the backup does not restore: restore DOSSIER" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("cchc-verify-")] == []


async def filled_server(folder, events: int = 300) -> NatsServer:  # type: ignore[no-untyped-def]
    server = NatsServer(store_dir=folder).start()
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    for name in ("DOSSIER", "PLANNING"):
        await js.add_stream(StreamConfig(name=name, subjects=[f"cchc.{name.lower()}.>"]))
        for n in range(events):
            await js.publish(f"cchc.{name.lower()}.SNV.a{n % 30}", f"{name} {n}".encode() * 20)
    await nc.close()
    return server


async def stream_names_of(url: str) -> list[str]:
    from cchc.runtime.backups import stream_names

    nc = await nats.connect(url)
    try:
        return await stream_names(nc)
    finally:
        await nc.close()


async def test_a_backup_that_did_not_finish_is_refused_and_nothing_is_restored(
    tmp_path, monkeypatch, capsys,
):
    """The second stream's snapshot fails: the folder holds the first stream, whole, and no
    manifest. Restoring it would bring back DOSSIER without PLANNING, silently, as before."""
    import asyncio

    from cchc.runtime import backups

    source = await filled_server(tmp_path / "source")
    target = NatsServer(store_dir=tmp_path / "target").start()
    try:
        taken = backups.snapshot

        async def fails_on_planning(nc, stream, folder, to):  # type: ignore[no-untyped-def]
            if stream == "PLANNING":
                raise backups.BackupError("$JS.API.STREAM.SNAPSHOT.PLANNING: the server went away")
            return await taken(nc, stream, folder, to)

        monkeypatch.setattr(backups, "snapshot", fails_on_planning)
        folder = tmp_path / "backup"
        assert await asyncio.to_thread(
            main, ["backup", "create", str(folder), "--nats-url", source.url]) == 1
        assert (folder / "DOSSIER" / "backup.json").exists()
        assert not (folder / "manifest.json").exists()
        capsys.readouterr()

        assert await asyncio.to_thread(
            main, ["backup", "restore", str(folder), "--nats-url", target.url]) == 1
        assert "has no manifest.json: a backup that did not finish" in capsys.readouterr().err
        assert await stream_names_of(target.url) == []
        # Told so, the streams it holds are restored (a folder of `nats stream backup`).
        assert await asyncio.to_thread(
            main, ["backup", "restore", str(folder), "--nats-url", target.url,
                   "--no-manifest"]) == 0
        assert await stream_names_of(target.url) == ["DOSSIER"]
    finally:
        source.stop()
        target.stop()


@pytest.mark.parametrize("damage", ["bytes flipped", "stream folder removed", "stream added"])
async def test_a_backup_whose_files_no_longer_match_its_manifest_restores_nothing(
    tmp_path, capsys, damage,
):
    import asyncio
    import shutil

    source = await filled_server(tmp_path / "source")
    target = NatsServer(store_dir=tmp_path / "target").start()
    try:
        folder = tmp_path / "backup"
        assert await asyncio.to_thread(
            main, ["backup", "create", str(folder), "--nats-url", source.url]) == 0
        assert "backup complete: 2 streams" in capsys.readouterr().out
        snapshot = folder / "PLANNING" / "stream.snapshot"
        if damage == "bytes flipped":  # same size, 64 bytes changed in the middle
            data = bytearray(snapshot.read_bytes())
            middle = len(data) // 2
            data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
            snapshot.write_bytes(bytes(data))
            expected = "PLANNING: stream.snapshot does not match its SHA-256 in manifest.json"
        elif damage == "stream folder removed":
            shutil.rmtree(folder / "PLANNING")
            expected = "PLANNING: listed in manifest.json, missing from the folder"
        else:
            shutil.copytree(folder / "PLANNING", folder / "SCORING")
            expected = "SCORING: in the folder, not in its manifest.json"
        assert await asyncio.to_thread(
            main, ["backup", "restore", str(folder), "--nats-url", target.url]) == 1
        assert expected in capsys.readouterr().err
        assert await stream_names_of(target.url) == []  # DOSSIER neither
    finally:
        source.stop()
        target.stop()


async def test_a_folder_holding_a_backup_is_not_written_over(tmp_path, capsys):
    import asyncio

    source = await filled_server(tmp_path / "source", events=20)
    try:
        folder = tmp_path / "backup"
        assert await asyncio.to_thread(
            main, ["backup", "create", str(folder), "--nats-url", source.url]) == 0
        manifest = (folder / "manifest.json").read_bytes()
        capsys.readouterr()
        assert await asyncio.to_thread(
            main, ["backup", "create", str(folder), "--nats-url", source.url]) == 1
        assert "holds a backup already" in capsys.readouterr().err
        assert (folder / "manifest.json").read_bytes() == manifest
    finally:
        source.stop()


@pytest.fixture
def target(tmp_path):  # type: ignore[no-untyped-def]
    """A fresh server to restore into."""
    server = NatsServer(store_dir=tmp_path / "target").start()
    yield server
    server.stop()


async def dossier_server(folder, payloads: list[bytes]) -> NatsServer:  # type: ignore[no-untyped-def]
    """A server whose DOSSIER stream holds ``payloads``, one aggregate each."""
    server = NatsServer(store_dir=folder).start()
    nc = await nats.connect(server.url)
    js = nc.jetstream()
    await js.add_stream(StreamConfig(name="DOSSIER", subjects=["cchc.dossier.>"]))
    for n, payload in enumerate(payloads):
        await js.publish(f"cchc.dossier.SNV.d{n}", payload)
    await nc.close()
    return server


async def test_an_encrypted_backup_holds_no_plaintext_and_restores_only_with_its_identity(
    tmp_path, capsys, target,
):
    """`--recipient age1…`: every snapshot is an age file (the job that writes it, and any copy
    of it, cannot read it); restore and verify need the identity, checked before anything is
    restored."""
    import asyncio
    import secrets

    from pyrage import decrypt, x25519

    from cchc.runtime.backup_crypto import new_identity

    secret, public = new_identity()
    (tmp_path / "key.txt").write_text(f"# created: for this test\n{secret}\n")
    (tmp_path / "other.txt").write_text(new_identity()[0] + "\n")
    # A random token each (a citizen's identity number, say).
    tokens = [secrets.token_hex(12) for _ in range(200)]
    source = await dossier_server(tmp_path / "source",
                                  [f"Nguyễn Văn An {token}".encode() for token in tokens])
    try:

        plain, sealed = tmp_path / "plain", tmp_path / "sealed"
        assert await asyncio.to_thread(
            main, ["backup", "create", str(plain), "--nats-url", source.url]) == 0
        assert await asyncio.to_thread(
            main, ["backup", "create", str(sealed), "--nats-url", source.url,
                   "--recipient", public]) == 0
        # S2 keeps most of the tokens as they are (one may share bytes with another and be
        # compressed away): the plain snapshot shows them; the encrypted one shows none.
        in_the_clear = (plain / "DOSSIER" / "stream.snapshot").read_bytes()
        shown = [token for token in tokens if token.encode() in in_the_clear]
        assert len(shown) > len(tokens) // 2, len(shown)
        assert sorted(p.name for p in (sealed / "DOSSIER").iterdir()) == ["backup.json",
                                                                    "stream.snapshot.age"]
        stored = (sealed / "DOSSIER" / "stream.snapshot.age").read_bytes()
        assert not [token for token in tokens if token.encode() in stored]
        assert stored.startswith(b"age-encryption.org/v1\n")
        identity = x25519.Identity.from_str(secret)
        opened = decrypt(stored, [identity])  # the snapshot, as age reads it
        assert [token for token in shown if token.encode() in opened]
        capsys.readouterr()

        restore = ["backup", "restore", str(sealed), "--nats-url", target.url]
        assert await asyncio.to_thread(main, restore) == 1
        assert f"the backup is encrypted to {public}: give its identity" in (
            capsys.readouterr().err)
        assert await asyncio.to_thread(
            main, [*restore, "--identity", str(tmp_path / "other.txt")]) == 1
        assert "is not the one the backup is encrypted to" in capsys.readouterr().err
        assert await stream_names_of(target.url) == []
        assert await asyncio.to_thread(
            main, [*restore, "--identity", str(tmp_path / "key.txt")]) == 0
        nc = await nats.connect(target.url)
        try:
            message = await nc.jetstream().get_msg("DOSSIER", 124)
            assert message.data == f"Nguyễn Văn An {tokens[123]}".encode()
        finally:
            await nc.close()
    finally:
        source.stop()


def test_a_key_that_is_not_an_age_key_is_refused_before_connecting(tmp_path, capsys):
    (tmp_path / "key.txt").write_text("not a key\n")
    assert main(["backup", "create", str(tmp_path / "b"), "--nats-url", "nats://127.0.0.1:1",
                 "--recipient", "age1nope"]) == 2
    assert "not an age recipient" in capsys.readouterr().err
    assert main(["backup", "restore", str(tmp_path / "b"), "--nats-url", "nats://127.0.0.1:1",
                 "--identity", str(tmp_path / "key.txt")]) == 2
    assert "holds 0 age identities" in capsys.readouterr().err


async def test_an_encryptor_that_fails_midway_fails_the_backup_at_once(tmp_path, monkeypatch):
    """The disk fills while age writes: the writer must get that error, not wait for ever on a
    pipe nobody reads any more."""
    import asyncio

    import pyrage

    from cchc.runtime import backup_crypto

    def fails_after_a_little(source, out, recipients):  # type: ignore[no-untyped-def]
        source.read(1000)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(pyrage, "encrypt_io", fails_after_a_little)
    to = backup_crypto.recipient(backup_crypto.new_identity()[1])
    sealed = backup_crypto.EncryptingFile(tmp_path / "x.age", to)

    async def write_a_lot() -> None:
        for _ in range(64):
            await sealed.write(b"x" * 128 * 1024)
        await sealed.close()

    with pytest.raises(OSError, match="No space left on device"):
        await asyncio.wait_for(write_a_lot(), 20)
    await sealed.abort()
