"""`cchc backup create|restore` on real nats-servers: every stream (events and KV buckets) snapshot
through the server's API and restored into another server, message for message."""

import nats
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
        assert {p.name for p in backup.iterdir()} == {"DOSSIER", "KV_IDEMPOTENCY"}
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
    """`cchc verify --backup` restores into a scratch server first: a snapshot damaged in
    storage fails there, with the server's reason, at once."""
    import argparse
    import asyncio

    from cchc.cli import backup
    from cchc.cli.verify import run as run_verify

    source = NatsServer(store_dir=tmp_path / "source").start()
    try:
        nc = await nats.connect(source.url)
        await nc.jetstream().add_stream(StreamConfig(name="DOSSIER", subjects=["cchc.dossier.>"]))
        for n in range(500):
            await nc.jetstream().publish(f"cchc.dossier.SNV.d{n % 40}", b"event" * 40)
        assert await backup.create(nc, tmp_path / "backup") == 0
        await nc.close()
    finally:
        source.stop()
    snapshot = tmp_path / "backup" / "DOSSIER" / "stream.snapshot"
    snapshot.write_bytes(snapshot.read_bytes()[: snapshot.stat().st_size // 2])
    keyring = tmp_path / "keyring.json"
    keyring.write_text('{"keys": []}')
    capsys.readouterr()
    args = argparse.Namespace(backup=tmp_path / "backup", keyring=str(keyring), nats_url=None,
                              anchor=[], scratch_dir=tmp_path, data_dir=None)
    assert await asyncio.wait_for(run_verify(args), 60) == 1
    assert "the backup does not restore: restore DOSSIER" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("cchc-verify-")] == []
