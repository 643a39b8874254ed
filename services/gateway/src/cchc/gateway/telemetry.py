"""Per HTTP request: its metrics and the correlation id of its log lines.

``TelemetryMiddleware`` is a plain ASGI middleware (not ``BaseHTTPMiddleware``, which would
buffer the event stream's response). For each HTTP request it
* sets the correlation id (``X-Correlation-Id`` if usable, else a new one) in the context
  variable every log line reads (``cchc.runtime.observability``), and on the request's span;
* counts the request by method, route template and status, and times it (until its response
  ends: a live event stream is timed for as long as it lasts, under its own route).

The route is the template (``/api/v1/dossiers/{dossier_id}``), never the path: one series per
operation, not per dossier. A request that matches no route counts under ``unmatched``.

The request's SERVER span is FastAPI's own (native OpenTelemetry since 0.16x: on as soon as a
tracer provider is configured, ``cchc.runtime.observability.configure_tracing``): named
``<METHOD> <route template>``, a child of the caller's ``traceparent`` when one is sent, and
current while the request runs, so the NATS request and the append that follow share its trace.
"""

import functools
import time
from typing import Any

from opentelemetry import trace
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cchc.runtime.observability import (
    accepted_correlation_id,
    reset_correlation_id,
    set_correlation_id,
)

UNMATCHED = "unmatched"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

HTTP_REQUESTS = Counter(
    "cchc_http_requests", "HTTP requests the gateway answered, by route template and status",
    ["method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "cchc_http_request_duration_seconds",
    "Time from an HTTP request's arrival to the end of its response, by route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)


def route_template(scope: Scope) -> str:
    """The template of the route that answered (set in the scope by the routing)."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str) and path:
        return path
    # The app's own plain routes (/openapi.json, /docs) leave only their endpoint in the scope.
    endpoint = scope.get("endpoint")
    if endpoint is not None:
        for route in getattr(scope.get("router"), "routes", ()):
            path = getattr(route, "path", None)
            if getattr(route, "endpoint", None) is endpoint and isinstance(path, str):
                return path
    return UNMATCHED


def method_label(scope: Scope) -> str:
    """The request's method, or ``other`` for a method no route answers: a client choosing
    method names must not choose how many series the gateway keeps."""
    method = scope.get("method", "GET")
    return method if method in KNOWN_METHODS else "other"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return None


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = accepted_correlation_id(_header(scope, b"x-correlation-id"))
        token = set_correlation_id(correlation_id)
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("cchc.correlation_id", correlation_id)
        status = 500  # what the client gets if the app raises before answering
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            counted, timed = _series(method_label(scope), route_template(scope), status)
            counted.inc()
            timed.observe(time.perf_counter() - started)
            reset_correlation_id(token)


@functools.cache
def _series(method: str, route: str, status: int) -> tuple[Any, Any]:
    """The counter and the histogram of one method, route and status. Found once: looking a
    series up by its labels costs about as much as the rest of the middleware. The keys are
    bounded (route templates, not paths; the methods and statuses the server answers)."""
    return (HTTP_REQUESTS.labels(method, route, str(status)),
            HTTP_DURATION.labels(method, route))
