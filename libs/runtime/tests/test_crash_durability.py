"""A nats-server killed (SIGKILL) in the middle of appends loses no acknowledged event."""

import asyncio
import time
from datetime import UTC, date, datetime

import nats

from cchc.contracts.dossier import CalendarDayDeclared, DayKind
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.streams import ensure_event_stream


async def test_acknowledged_appends_survive_a_killed_and_restarted_server(tmp_path):
    config = tmp_path / "nats.conf"
    config.write_text("jetstream { sync_interval: always }\n")
    server = NatsServer(store_dir=tmp_path / "js", config_file=config).start()
    nc = await nats.connect(server.url, max_reconnect_attempts=-1, reconnect_time_wait=0.1)
    try:
        await ensure_event_stream(nc.jetstream(), "dossier")
        store = EventStore(nc, timeout=1.0)
        acknowledged: set[str] = set()
        event = CalendarDayDeclared(date=date(2022, 5, 2), kind=DayKind.DAY_OFF, note="n")

        async def append_forever(stop: asyncio.Event) -> None:
            while not stop.is_set():
                try:
                    appended = await store.append(
                        AggregateHistory("dossier", new_id()), event, agency="_province",
                        occurred_at=datetime.now(UTC), meta=Metadata(actor="t", correlation_id="c"),
                    )
                    acknowledged.add(appended.envelope.event_id)
                except Exception:  # noqa: BLE001 - server down: not acknowledged, no claim
                    await asyncio.sleep(0.05)

        stop = asyncio.Event()
        writers = [asyncio.create_task(append_forever(stop)) for _ in range(4)]
        await asyncio.sleep(1.0)
        before_kill = len(acknowledged)
        server.stop(kill=True)
        await asyncio.sleep(0.5)
        server.start()  # same port, same store folder
        deadline = time.monotonic() + 20
        while len(acknowledged) < before_kill + 20 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.gather(*writers)
        assert before_kill > 0 and len(acknowledged) >= before_kill + 20, "writes did not go on"

        stored = {e.event_id for e in await store.read_after("dossier", 0, 100_000)}
        assert acknowledged <= stored, f"lost {len(acknowledged - stored)} acknowledged events"
    finally:
        await nc.close()
        server.stop()
