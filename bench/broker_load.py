"""What the benchmarks share: a dossier's kinds of life, loading a stream fast without losing a
message, reading a process's resident memory, and waiting for the gateway to be healthy."""

import asyncio
from collections.abc import Iterable
from pathlib import Path

import httpx
from nats.aio.client import Client as NATS

AGENCIES = [f"S{i:02d}" for i in range(20)]
LIVES = [  # the kinds of event a dossier has, by how its life went
    ["DossierReceived", "DossierResolved", "ResultReturned"],
    ["DossierReceived", "SupplementRequested", "DossierSupplemented", "DossierResolved"],
    ["DossierReceived", "SupplementRequested", "DossierSupplemented", "DossierResolved",
     "ResultReturned"],
]

WINDOW = 2000  # events in flight

Message = tuple[str, bytes, dict[str, str] | None]  # subject, data, headers


async def publish_acked(nc: NATS, messages: Iterable[Message], window: int = WINDOW) -> int:
    """Publish every message with a reply inbox, at most ``window`` unacknowledged (a plain
    publish outruns the stream's ingest queue and the server drops messages); how many."""
    slots = asyncio.Semaphore(window)
    acked = 0

    async def on_ack(msg) -> None:  # type: ignore[no-untyped-def]
        nonlocal acked
        acked += 1
        slots.release()

    inbox = nc.new_inbox()
    subscription = await nc.subscribe(f"{inbox}.*", cb=on_ack)
    sent = 0
    for subject, data, headers in messages:
        await slots.acquire()
        await nc.publish(subject, data, reply=f"{inbox}.{sent}", headers=headers)
        sent += 1
    while acked < sent:
        await asyncio.sleep(0.1)
    await subscription.unsubscribe()
    return sent


def resident_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


async def wait_healthy(api: httpx.AsyncClient, seconds: float = 900) -> None:
    """Until the gateway's /health answers 200 (RuntimeError after ``seconds``)."""
    for _ in range(int(seconds * 2)):
        try:
            if (await api.get("/health")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.5)
    raise RuntimeError("the gateway never became healthy")
