"""Per HTTP request: a metric, a server span and the correlation id of the log lines.

``TelemetryMiddleware`` is a plain ASGI middleware (not ``BaseHTTPMiddleware``, which would
buffer the event stream's response). For each HTTP request it
* sets the correlation id (``X-Correlation-Id`` if usable, else a new one) in the context
  variable every log line reads (``cchc.runtime.observability``);
* opens a SERVER span ``<METHOD> <route template>``, a child of the caller's ``traceparent``
  when it sends one, so the NATS request and the append that follow share its trace;
* counts the request by method, route template and status, and times it (until its response
  ends: a live event stream is timed for as long as it lasts, under its own route).

The route is the template (``/api/v1/dossiers/{dossier_id}``), never the path: one series per
operation, not per dossier. A request that matches no route counts under ``unmatched``.
"""

import time
from typing import Any

from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from cchc.runtime.observability import (
    accepted_correlation_id,
    extract_trace_context,
    get_tracer,
    reset_correlation_id,
    set_correlation_id,
)

UNMATCHED = "unmatched"

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

tracer = get_tracer("cchc.gateway")


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


class TelemetryMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {key.decode("latin-1"): value.decode("latin-1")
                   for key, value in scope.get("headers", [])}
        method = scope.get("method", "GET")
        correlation_id = accepted_correlation_id(headers.get("x-correlation-id"))
        token = set_correlation_id(correlation_id)
        status = 500  # what the client gets if the app raises before answering
        route = UNMATCHED
        started = time.perf_counter()
        span_attributes: dict[str, Any] = {
            "http.request.method": method, "url.path": scope.get("path", ""),
            "cchc.correlation_id": correlation_id,
        }
        try:
            with tracer.start_as_current_span(
                method, context=extract_trace_context(headers), kind=SpanKind.SERVER,
                attributes=span_attributes,
            ) as span:
                async def send_with_status(message: Message) -> None:
                    nonlocal status
                    if message["type"] == "http.response.start":
                        status = message["status"]
                    await send(message)

                try:
                    await self.app(scope, receive, send_with_status)
                finally:
                    route = route_template(scope)
                    span.update_name(f"{method} {route}")
                    span.set_attribute("http.route", route)
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(Status(StatusCode.ERROR))
        finally:
            HTTP_REQUESTS.labels(method, route, str(status)).inc()
            HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
            reset_correlation_id(token)
