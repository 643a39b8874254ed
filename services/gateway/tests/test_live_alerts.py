"""Alert digests reach the live streams of every gateway replica (cchc.gateway.alerts.live), on a
real nats-server: each replica is a LiveAlerts following the subject on its own connection."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import nats
import pytest

from cchc.contracts.messages import Principal, Role
from cchc.gateway.alerts import live as live_module
from cchc.gateway.alerts.live import SUBJECT, LiveAlerts

OFFICER_A = Principal(sub="officer-a", role=Role.OFFICER, agency="SOA")
OFFICER_B = Principal(sub="officer-b", role=Role.OFFICER, agency="SOB")
INSPECTOR = Principal(sub="inspector", role=Role.INSPECTOR)


@pytest.fixture(autouse=True)
def answers_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The replicas' answers are counted within ANSWER_WAIT_S: ample here, on a busy CI too."""
    monkeypatch.setattr(live_module, "ANSWER_WAIT_S", 1.5)


@contextlib.asynccontextmanager
async def replica(url: str) -> AsyncIterator[LiveAlerts]:
    nc = await nats.connect(url)
    live = LiveAlerts()
    await live.follow(nc)
    try:
        yield live
    finally:
        await live.unfollow()
        await nc.close()


def digest(agency: str, filler: int = 0) -> dict:
    return {"agency": agency, "day": "2022-07-15", "count": 1, "note": "x" * filler}


async def test_a_digest_sent_by_one_replica_reaches_the_streams_of_every_replica(nats_server):
    async with replica(nats_server.url) as first, replica(nats_server.url) as second:
        on_first = first.listen(OFFICER_A)
        on_second = second.listen(OFFICER_A)
        province = second.listen(INSPECTOR)
        elsewhere = second.listen(OFFICER_B)  # another agency's officer: not its digest

        subscriptions = len(first._nc._subs)
        assert await first.send(digest("SOA")) == 3
        assert len(first._nc._subs) == subscriptions
        for queue in (on_first, on_second, province):
            assert (await asyncio.wait_for(queue.get(), 5))["agency"] == "SOA"
            assert queue.empty()  # once, not once per replica
        assert elsewhere.empty()

        second.stop(on_second)
        assert await second.send(digest("SOA")) == 2  # a closed stream is not counted
        assert on_second.empty()


async def test_a_digest_nats_refuses_still_reaches_this_replicas_streams(nats_server):
    async with replica(nats_server.url) as first, replica(nats_server.url) as second:
        mine, theirs = first.listen(OFFICER_A), second.listen(OFFICER_A)
        too_large = digest("SOA", filler=2 * 1024 * 1024)  # nats-server's max_payload: 1 MB
        subscriptions = len(first._nc._subs)

        assert await first.send(too_large) == 1
        assert len(first._nc._subs) == subscriptions  # the answers' inbox is gone too
        assert (await asyncio.wait_for(mine.get(), 5))["note"] == too_large["note"]
        await asyncio.sleep(live_module.ANSWER_WAIT_S)
        assert theirs.empty()


async def test_while_nats_is_lost_a_digest_reaches_this_replicas_streams_at_once(tmp_path):
    from cchc.runtime.natsserver import NatsServer

    server = NatsServer(store_dir=tmp_path / "nats").start()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    live = LiveAlerts()
    await live.follow(nc)
    try:
        queue = live.listen(OFFICER_A)
        server.stop()
        for _ in range(100):
            if not nc.is_connected:
                break
            await asyncio.sleep(0.05)
        assert await live.send(digest("SOA")) == 1
        assert queue.get_nowait()["agency"] == "SOA"  # now, not once NATS is back
    finally:
        await live.unfollow()
        await nc.close()
        server.stop()


async def test_a_replica_not_following_hands_digests_to_its_own_streams():
    live = LiveAlerts()
    queue = live.listen(OFFICER_A)
    assert await live.send(digest("SOA")) == 1
    assert queue.get_nowait()["agency"] == "SOA"


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"agency": 7}', b'{"day": "x"}'])
async def test_what_is_not_a_digest_is_ignored(nats_server, body):
    async with replica(nats_server.url) as first:
        queue = first.listen(INSPECTOR)
        nc = await nats.connect(nats_server.url)
        try:
            await nc.publish(SUBJECT, body)
            await nc.flush()
            assert await first.send(digest("SOA")) == 1  # it still follows: the next one comes
        finally:
            await nc.close()
        assert queue.get_nowait()["agency"] == "SOA"
        assert queue.empty()
