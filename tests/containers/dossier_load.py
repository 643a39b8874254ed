"""Dossiers received through the REST API, many at a time, each under its own Idempotency-Key, and
counted back from the read model: what was sent, acknowledged, found, and found twice."""

import asyncio
import uuid
from dataclasses import dataclass, field

import httpx


@dataclass
class Tally:
    sent: int = 0
    acknowledged: set[str] = field(default_factory=set)  # dossier ids answered 201
    failed: list[str] = field(default_factory=list)  # the last error of each given-up command
    retries: int = 0
    last_position: int = 0


async def receive_dossiers(
    officer: httpx.AsyncClient, procedure: str, count: int, concurrency: int = 8,
    attempts: int = 1, tally: Tally | None = None,
) -> Tally:
    """``count`` dossiers of ``procedure``; a command that fails is retried (same key) up to
    ``attempts`` times in all."""
    tally = tally or Tally()
    gate = asyncio.Semaphore(concurrency)

    async def one(number: int) -> None:
        key = str(uuid.uuid4())
        body = {"procedure": procedure, "channel": ("online", "direct")[number % 2],
                "received_at": f"2022-03-{1 + number % 28:02d}T09:00:00+07:00",
                "applicant": {"name": f"Người nộp {number}"}}
        async with gate:
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
                    continue
                if answer.status_code == 201:
                    tally.acknowledged.add(answer.json()["id"])
                    position = int(answer.headers["X-Event-Position"])
                    tally.last_position = max(tally.last_position, position)
                    return
                error = f"{answer.status_code} {answer.text[:200]}"
            tally.failed.append(error)

    await asyncio.gather(*(one(n) for n in range(count)))
    return tally


async def dossiers_found(officer: httpx.AsyncClient, agency: str, min_position: int) -> list[str]:
    """Every dossier id of the agency in the read model (pages), once it holds min_position."""
    ids: list[str] = []
    cursor = None
    while True:
        params = {"agency": agency, "limit": 200}
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
