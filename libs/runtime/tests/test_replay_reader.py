"""The replay reader process (cchc.runtime.replay_reader) on a NATS server with users, as every
installation runs one (`cchc up` included), and a reader that sends nothing."""

import asyncio
import logging
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, select

from cchc.contracts.dossier import CalendarDayDeclared, DayKind
from cchc.runtime import replay_reader
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.nats_credentials import connect
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.replay_reader import ReadTask, ReplayFeed
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream

USERS = 'authorization { users: [ { user: "dossier", password: "p@ss/w:rd" } ] }\n'


class Positions:
    """A projection keeping the position of every event it is given (a primary key: once)."""

    context = "dossier"

    def __init__(self) -> None:
        self.name = f"reader-{new_id()[:8]}"
        self.metadata = MetaData()
        self.table = Table(f"seen_{self.name.replace('-', '_')}", self.metadata,
                           Column("position", Integer, primary_key=True))

    async def apply(self, conn, envelope) -> None:  # type: ignore[no-untyped-def]
        await conn.execute(self.table.insert().values(position=envelope.position))


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
    url = server_with_users.url.replace("nats://", "nats://dossier:p%40ss%2Fw%3Ard@")
    nc = await connect(url)
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'read.db'}")
    try:
        await ensure_event_stream(nc.jetstream(), "dossier")
        store = EventStore(nc)
        for day in range(1, 31):
            await store.append(
                AggregateHistory("dossier", new_id()),
                CalendarDayDeclared(date=date(2023, 1, day), kind=DayKind.DAY_OFF, note="r"),
                agency="_province", occurred_at=datetime.now(UTC),
                meta=Metadata(actor="t", correlation_id="c"))
        projection = Positions()
        runner = ProjectionRunner(nc, engine, projection, batch_size=5, replay_reader_from=1,
                                  replay_batch_size=5)
        with caplog.at_level(logging.INFO):
            assert await runner.catch_up() == 30
        assert "with a reader process" in caplog.text
        assert "ended early" not in caplog.text and "sent nothing" not in caplog.text
        async with engine.connect() as conn:
            seen = set((await conn.execute(select(projection.table.c.position))).scalars())
        assert seen == set(range(1, 31))
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
