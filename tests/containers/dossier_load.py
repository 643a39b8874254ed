"""Dossiers received through the REST API, many at a time, each under its own Idempotency-Key, and
counted back from the read model: what was sent, acknowledged, found, and found twice."""

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx


@dataclass
class Tally:
    sent: int = 0
    acknowledged: set[str] = field(default_factory=set)  # dossier ids answered 201
    failed: list[str] = field(default_factory=list)  # the last error of each given-up command
    retries: int = 0  # attempts after a failed one (each absorbed failure counts once)
    last_position: int = 0
    last_ack: float = field(default_factory=time.monotonic)
    errors: Counter = field(default_factory=Counter)  # what failed attempts got, by kind
    longest_pause_s: float = 0.0  # the longest time without any acknowledgment

    def acknowledge(self, dossier_id: str, position: int) -> None:
        now = time.monotonic()
        self.longest_pause_s = max(self.longest_pause_s, now - self.last_ack)
        self.last_ack = now
        self.acknowledged.add(dossier_id)
        self.last_position = max(self.last_position, position)

    def figures(self) -> dict[str, int]:
        return {"sent": self.sent, "acknowledged": len(self.acknowledged),
                "retried attempts": self.retries, "given up": len(self.failed)}


def error_kind(answer: httpx.Response) -> str:
    """The status and the start of the problem's detail (numbers and ids stripped)."""
    try:
        detail = str(answer.json().get("detail") or answer.json().get("title") or "")
    except ValueError:
        detail = ""
    words = [w for w in detail.split() if not any(c.isdigit() for c in w)]
    return f"{answer.status_code} {' '.join(words)[:70]}".strip()


def late_entries(api) -> httpx.AsyncClient:  # type: ignore[no-untyped-def]
    """Who sends the load: its receipts are dated March 2022, so the province enters them (late
    entries: an officer's business time lies at most 24 hours back)."""
    return api.as_("home_affairs")


async def send_one(officer: httpx.AsyncClient, procedure: str, number: int, tally: Tally,
                   attempts: int) -> None:
    """One receipt; a failure (transport error, 5xx, 409 conflict) is retried with the same
    Idempotency-Key, with a growing pause, up to ``attempts`` attempts in all."""
    key = str(uuid.uuid4())
    body = {"procedure": procedure, "channel": ("online", "direct")[number % 2],
            "received_at": f"2022-03-{1 + number % 28:02d}T09:00:00+07:00",
            "applicant": {"name": f"Người nộp {number}"}}
    tally.sent += 1
    error = ""
    for attempt in range(attempts):
        if attempt:
            tally.retries += 1
            await asyncio.sleep(min(0.2 * 2 ** attempt, 2.0))
        try:
            answer = await officer.post("/api/v1/dossiers", json=body,
                                        headers={"Idempotency-Key": key})
        except httpx.TransportError as failure:
            error = repr(failure)
            tally.errors[type(failure).__name__] += 1
            continue
        if answer.status_code == 201:
            tally.acknowledge(answer.json()["id"], int(answer.headers["X-Event-Position"]))
            return
        error = f"{answer.status_code} {answer.text[:200]}"
        tally.errors[error_kind(answer)] += 1
    tally.failed.append(error)


async def receive_dossiers(
    officer: httpx.AsyncClient, procedure: str, count: int, concurrency: int = 8,
    attempts: int = 1, tally: Tally | None = None,
) -> Tally:
    """``count`` dossiers of ``procedure``, ``concurrency`` at a time."""
    tally = tally or Tally()
    gate = asyncio.Semaphore(concurrency)

    async def one(number: int) -> None:
        async with gate:
            await send_one(officer, procedure, number, tally, attempts)

    await asyncio.gather(*(one(n) for n in range(count)))
    return tally


async def load_until(stop: asyncio.Event, officer: httpx.AsyncClient, procedure: str,
                     tally: Tally, workers: int = 4, attempts: int = 40) -> None:
    """Receipts without pause from ``workers`` clients until ``stop``; each command in flight
    when it is set is finished (retried as long as it takes, up to ``attempts``)."""
    counter = iter(range(10**9))

    async def worker() -> None:
        while not stop.is_set():
            await send_one(officer, procedure, next(counter), tally, attempts)

    await asyncio.gather(*(worker() for _ in range(workers)))


async def dossiers_found(officer: httpx.AsyncClient, agency: str, min_position: int) -> list[str]:
    """Every dossier id of the agency in the read model (pages), once it holds min_position."""
    ids: list[str] = []
    cursor = None
    while True:
        params: dict = {"agency": agency, "limit": 500}
        if cursor:
            params["cursor"] = cursor
        answer = await officer.get("/api/v1/dossiers", params=params,
                                   headers={"X-Min-Position": str(min_position)})
        assert answer.status_code == 200, answer.text
        page = answer.json()
        ids += [item["id"] for item in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            return ids
