"""A cap on request bodies, enforced before a body is read whole: 413 problem beyond it.

A request that declares a larger ``Content-Length`` is answered at once, before the application
(authentication, routing, JSON parsing) sees it. A body without a length (chunked) is counted as
it arrives: the chunk that crosses the cap ends the read with a 413 ``HTTPException``, which
FastAPI passes on as it is and the problem handlers answer; if it escapes them (a response not yet
begun), this middleware answers the 413 itself. Nothing beyond the cap is ever buffered.
"""

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cchc.contracts.messages import Problem
from cchc.gateway.problems import problem_response

DEFAULT_MAX_BODY_BYTES = 1024 * 1024


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, _detail(limit))


def _detail(limit: int) -> str:
    return f"the request body is larger than {limit} bytes"


def too_large_response(limit: int):  # type: ignore[no-untyped-def]
    return problem_response(Problem(title="Content too large", status=413, detail=_detail(limit)),
                            {"Connection": "close"})


IMPORTS_PATH = "/api/v1/imports/"


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 import_max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # An imported file (a year of dossiers) is far larger than any command.
        self.import_max_bytes = import_max_bytes or max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        importing = str(scope.get("path", "")).startswith(IMPORTS_PATH)
        limit = self.import_max_bytes if importing else self.max_bytes
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                # The server has checked the header's syntax; a list of lengths is its business.
                if value.strip().isdigit() and int(value) > limit:
                    await too_large_response(limit)(scope, receive, send)
                    return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await too_large_response(limit)(scope, receive, send)
