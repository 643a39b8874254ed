"""The replay reader process (cchc.runtime.replay_reader) on a NATS server with users, as every
installation runs one (`cchc up` included), and a reader that sends nothing."""

import asyncio
import logging

import pytest

from cchc.runtime import replay_reader
from cchc.runtime.nats_credentials import connect
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.replay_reader import ReadTask, ReplayFeed
from cchc.runtime.sqldb import create_engine
from cchc.runtime.testing import PositionsSeen, append_calendar_days

USERS = 'authorization { users: [ { user: "dossier", password: "p@ss/w:rd" } ] }\n'


@pytest.fixture
def server_with_users(tmp_path):
    (tmp_path / "users.conf").write_text(USERS)
    server = NatsServer(store_dir=tmp_path / "js", config_file=tmp_path / "users.conf").start()
    yield server
    server.stop()


async def test_a_replay_is_read_by_the_reader_process_logged_in_as_its_parent(
        server_with_users, tmp_path, caplog):
    """Before, the child was handed the connected URL, without the user and password nats-py
    keeps apart from it: the server refused it, and after 6 s of tries every replay of an
    installation went on with the slower consumer ("ended early")."""
    nc = await connect(server_with_users.url.replace("nats://", "nats://dossier:p%40ss%2Fw%3Ard@"))
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'read.db'}")
    try:
        head = await append_calendar_days(nc, 30)
        projection = PositionsSeen()
        runner = ProjectionRunner(nc, engine, projection, batch_size=5, replay_reader_from=1,
                                  replay_batch_size=5)
        with caplog.at_level(logging.INFO):
            assert await runner.catch_up() == head == 30
        assert "with a reader process" in caplog.text
        assert "ended early" not in caplog.text and "sent nothing" not in caplog.text
        assert await projection.positions(engine) == set(range(1, 31))
        await runner.close()
    finally:
        await engine.dispose()
        await nc.close()


async def test_a_reader_that_sends_nothing_is_given_up(monkeypatch, caplog):
    """A child stuck before its first batch (here: connecting to a server that never answers)
    no longer holds the replay for good: after STALLED_AFTER_S of waiting it is stopped, and the
    runner goes on with its consumer (``finished`` without ``complete``)."""
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    monkeypatch.setattr(replay_reader, "STALLED_AFTER_S", 0.6)
    feed = ReplayFeed(ReadTask(url=f"nats://127.0.0.1:{port}", inbox_prefix="_INBOX",
                               stream="DOSSIER", subjects="cchc.dossier.>", first=1, last=10,
                               batch=5))
    await feed.start()
    process = feed._process
    assert process is not None
    try:
        with caplog.at_level(logging.WARNING):
            takes = 0
            while not feed.finished:
                assert await feed.take(0.2) == []
                takes += 1
                assert takes < 10, "the feed kept waiting"
        assert not feed.complete
        assert "sent nothing" in caplog.text
        assert process.returncode is not None  # the child was stopped
    finally:
        await feed.stop()
        silent.close()


async def test_a_reader_checks_a_discovered_nodes_certificate_against_the_parents_name(nc):
    """A node the parent learned from the cluster is dialled at its address (a pod's IP), and
    nats-py checks its certificate against the name the parent first connected to: the reader
    is given that name too, or it would refuse every such node's certificate."""
    assert ReadTask.of_connection(nc, stream="DOSSIER", subjects="cchc.dossier.>", first=1,
                                  last=1, batch=1).tls_hostname is None
    nc._current_server.tls_name = "nats"  # as nats-py marks a discovered node
    task = ReadTask.of_connection(nc, stream="DOSSIER", subjects="cchc.dossier.>", first=1,
                                  last=1, batch=1)
    assert task.tls_hostname == "nats"
    assert task.connect_options()["tls_hostname"] == "nats"
    nc._current_server.tls_name = None


def test_a_read_task_never_shows_its_secrets():
    task = ReadTask(url="nats://h:4222", inbox_prefix="_INBOX", stream="DOSSIER",
                    subjects="cchc.dossier.>", first=1, last=2, batch=1, user="dossier",
                    password="s3cret-pw", token="s3cret-token")
    assert "s3cret" not in repr(task) and "dossier" in repr(task)
    assert task.connect_options()["password"] == "s3cret-pw"
