"""The load generator: HTTP requests to the gateway from a process of its own, on loopback.

    python bench/load.py BASE_URL TOKEN SCENARIO REQUESTS CONCURRENCY

SCENARIO: ``receive`` (POST /api/v1/dossiers) or ``stats`` (GET /api/v1/dossier-stats for the
year 2022, every agency). Prints one JSON line: requests, seconds, status counts, latencies
(ms), and for ``receive`` each acknowledged [position, wall-clock time].
"""

import asyncio
import json
import sys
import time

import httpx


async def main(base_url: str, token: str, scenario: str, requests: int, concurrency: int) -> None:
    latencies: list[float] = []
    acknowledged: list[tuple[int, float]] = []
    statuses: dict[int, int] = {}
    remaining = [requests]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60,
                                 headers={"Authorization": f"Bearer {token}"}) as api:
        async def one(i: int) -> None:
            started = time.perf_counter()
            if scenario == "receive":
                answer = await api.post("/api/v1/dossiers", json={
                    "procedure": "BENCH.1", "channel": "online",
                    "received_at": "2022-12-20T09:00:00+07:00",
                    "applicant": {"name": f"Người nộp {i}"}})
                if answer.status_code == 201:
                    acknowledged.append((int(answer.headers["X-Event-Position"]), time.time()))
            else:
                answer = await api.get("/api/v1/dossier-stats",
                                       params={"from": "2022-01-01", "to": "2022-12-31"})
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1

        async def worker() -> None:
            while remaining[0] > 0:
                remaining[0] -= 1
                await one(remaining[0])

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    print(json.dumps({"requests": requests, "seconds": seconds, "statuses": statuses,
                      "latencies_ms": latencies, "acknowledged": acknowledged}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
