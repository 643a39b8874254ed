"""Receivers on loopback for the tests of outgoing deliveries: an SMTP server (aiosmtpd) and an
HTTP server that records what is POSTed to it (a webhook's other end)."""

import asyncio
import hashlib
import hmac
import json
import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from cchc.runtime.natsserver import free_port


async def _next(inbox: "queue.Queue[Any]", timeout: float) -> Any:
    """The next item, waiting without blocking the event loop."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            return inbox.get_nowait()
        except queue.Empty:
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"nothing arrived within {timeout} s") from None
            await asyncio.sleep(0.05)


class SmtpInbox:
    """An SMTP server on 127.0.0.1 that keeps every message's raw bytes. ``refusals``: the
    answers to give the first messages instead of accepting them (e.g. "451 4.3.0 busy")."""

    def __init__(self, refusals: list[str] | None = None) -> None:
        self.port = free_port()
        self.messages: "queue.Queue[bytes]" = queue.Queue()
        self.refusals = list(refusals or [])
        self.refused = 0
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 (aiosmtpd's name)
        if self.refusals:
            self.refused += 1
            return self.refusals.pop(0)
        self.messages.put(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    async def next(self, timeout: float) -> bytes:
        return await _next(self.messages, timeout)


@dataclass
class Posted:
    path: str
    headers: dict[str, str]
    raw: bytes
    body: Any


class WebhookInbox:
    """An HTTP server on 127.0.0.1 that answers 204 to every POST and keeps it. ``refusals``:
    the statuses to answer the first POSTs with instead (e.g. 503), keeping nothing."""

    def __init__(self, refusals: list[int] | None = None) -> None:
        self.posts: "queue.Queue[Posted]" = queue.Queue()
        self.refusals = list(refusals or [])
        self.refused = 0
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if inbox.refusals:
                    inbox.refused += 1
                    self.send_response(inbox.refusals.pop(0))
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                inbox.posts.put(Posted(self.path, dict(self.headers.items()), raw, json.loads(raw)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/cchc-alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    async def next(self, timeout: float) -> Posted:
        return await _next(self.posts, timeout)

    @staticmethod
    def signature_valid(posted: Posted, secret: str) -> bool:
        wanted = hmac.new(secret.encode(), posted.raw, hashlib.sha256).hexdigest()
        return posted.headers.get("X-CCHC-Signature") == f"sha256={wanted}"
