"""The load generator: HTTP requests to the gateway from a process of its own, on loopback.

    python bench/load.py BASE_URL TOKEN SCENARIO REQUESTS CONCURRENCY

SCENARIO: ``receive`` (POST /api/v1/dossiers) or ``stats`` (GET /api/v1/dossier-stats for the
year 2022, every agency). Prints one JSON line: requests, seconds, status counts, latencies
(ms), and for ``receive`` each acknowledged [position, wall-clock time].

Each client is one keep-alive HTTP/1.1 connection that writes a request and reads its answer,
as a browser or another agency's system would. The requests are written and the answers read
on plain asyncio streams rather than through an HTTP client library: on a 2-core machine the
load generator shares the cores with the system it measures, and httpx spent ~1.5 ms of CPU per
request here (bench/run.py's "load generator" figure), a third of what the server spent.
"""

import asyncio
import json
import sys
import time
from urllib.parse import urlencode, urlsplit


class Client:
    """One keep-alive connection; requests go one at a time."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.fixed = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n".encode()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def send(self, method: str, target: str, body: bytes | None = None,
                   ) -> tuple[int, dict[str, str], bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = f"{method} {target} HTTP/1.1\r\n".encode() + self.fixed
        if body is not None:
            head += (f"Content-Type: application/json\r\n"
                     f"Content-Length: {len(body)}\r\n").encode()
        self.writer.write(head + b"\r\n" + (body or b""))
        lines = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if "content-length" not in headers:
            raise RuntimeError(f"{method} {target}: an answer without Content-Length ({headers})")
        content = await self.reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
            self.writer = None
        return status, headers, content

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()


async def main(base_url: str, token: str, scenario: str, requests: int, concurrency: int) -> None:
    latencies: list[float] = []
    acknowledged: list[tuple[int, float]] = []
    statuses: dict[int, int] = {}
    remaining = [requests]
    address = urlsplit(base_url)
    stats_target = "/api/v1/dossier-stats?" + urlencode({"from": "2022-01-01",
                                                          "to": "2022-12-31"})

    async def worker(client: Client) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            i = remaining[0]
            started = time.perf_counter()
            if scenario == "receive":
                body = json.dumps({
                    "procedure": "BENCH.1", "channel": "online",
                    "received_at": "2022-12-20T09:00:00+07:00",
                    "applicant": {"name": f"Người nộp {i}"}}, ensure_ascii=False).encode()
                status, headers, _ = await client.send("POST", "/api/v1/dossiers", body)
                if status == 201:
                    acknowledged.append((int(headers["x-event-position"]), time.time()))
            else:
                status, _, _ = await client.send("GET", stats_target)
            latencies.append((time.perf_counter() - started) * 1000)
            statuses[status] = statuses.get(status, 0) + 1

    clients = [Client(address.hostname or "127.0.0.1", address.port or 80, token)
               for _ in range(concurrency)]
    started = time.perf_counter()
    try:
        await asyncio.gather(*(worker(client) for client in clients))
    finally:
        seconds = time.perf_counter() - started
        for client in clients:
            await client.close()
    print(json.dumps({"requests": requests, "seconds": seconds, "statuses": statuses,
                      "latencies_ms": latencies, "acknowledged": acknowledged}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])))
