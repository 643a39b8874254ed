"""What a running process tells an operator: JSON logs, traces and metrics.

* **Correlation id.** One id per request, carried in a context variable: the gateway sets it per
  HTTP request, a service handler per message (``correlation_scope(meta.correlation_id)``), and
  every log line written meanwhile carries it.
* **Logs.** ``configure_logging()``: one JSON object per line (time, level, logger, message, and
  the correlation id, trace id and span id when known).
* **Traces.** Off unless an OTLP/HTTP endpoint is configured (``OTEL_EXPORTER_OTLP_ENDPOINT``,
  ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``endpoint=``): then ``configure_tracing(service)``
  installs one recording ``TracerProvider`` per process (the embedded ``cchc up`` shares it
  between the services and the gateway) and trace ids reach the spans, log lines and event
  envelopes. Unexported spans are not made at all: they cost requests their CPU. Tests call
  ``install_in_memory_exporter()``, which installs the recording provider.
* **Trace context.** W3C ``traceparent``: ``current_traceparent()``, ``inject_trace_context()``
  into a headers dict, ``extract_trace_context()`` from one, ``link_from_traceparent()`` for a
  span that follows from (not under) an earlier one, as a projection follows a command.
* **Metrics.** prometheus_client's default registry, so the one-process stack serves every
  metric at the gateway's ``/metrics``; a service deployed alone serves its own with
  ``start_metrics_server(port)``. The projection runner's metrics are defined here.
"""

import functools
import json
import logging
import os
import sys
import threading
import uuid
from collections.abc import Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, SpanContext
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, start_http_server

# --- correlation id -------------------------------------------------------------------------

_correlation_id: ContextVar[str | None] = ContextVar("cchc_correlation_id", default=None)
MAX_CORRELATION_ID = 128


def current_correlation_id() -> str | None:
    return _correlation_id.get()


def set_correlation_id(value: str | None) -> Token[str | None]:
    """Set the correlation id of what runs from here in this task; ``reset_correlation_id`` the
    token to undo it (or use ``correlation_scope``)."""
    return _correlation_id.set(value)


def reset_correlation_id(token: Token[str | None]) -> None:
    _correlation_id.reset(token)


@contextmanager
def correlation_scope(value: str | None) -> Iterator[str | None]:
    """``with correlation_scope(meta.correlation_id): ...``: log lines inside carry the id."""
    token = _correlation_id.set(value)
    try:
        yield value
    finally:
        _correlation_id.reset(token)


def accepted_correlation_id(value: str | None) -> str:
    """A caller's id if usable (1-128 printable characters), else a new one: a caller's id ties
    our log lines to theirs; an unusable one is replaced, not refused."""
    if value and 0 < len(value) <= MAX_CORRELATION_ID and value.isprintable():
        return value
    return str(uuid.uuid4())


# --- logs -----------------------------------------------------------------------------------

_CONTEXT_ATTRS = ("correlation_id", "trace_id", "span_id")
_STANDARD_ATTRS = frozenset(
    [*vars(logging.makeLogRecord({})), "message", "asctime", *_CONTEXT_ATTRS]
)
_OUR_HANDLER = "_cchc_json_handler"


class ContextFilter(logging.Filter):
    """Stamps each record with the correlation id and trace of the code that logged it (at
    logging time, in the logging task: a later formatter in another thread would not see them).
    An explicit ``extra={"correlation_id": ...}`` wins."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "correlation_id", None) is None:
            record.correlation_id = _correlation_id.get()
        if getattr(record, "trace_id", None) is None:
            context = trace.get_current_span().get_span_context()
            if context.is_valid:
                record.trace_id = format(context.trace_id, "032x")
                record.span_id = format(context.span_id, "016x")
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation_id, trace_id,
    span_id (the last three only when known), exception, and any ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in _CONTEXT_ATTRS:
            value = getattr(record, key, None)
            if value is not None:
                line[key] = value
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in line and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure_logging(
    level: int | str | None = None, *, json_lines: bool | None = None, stream: TextIO | None = None
) -> logging.Handler:
    """Send the root logger's records to ``stream`` (stderr), one JSON object per line.

    ``level`` defaults to ``CCHC_LOG_LEVEL`` (INFO); ``json_lines=False`` (or
    ``CCHC_LOG_FORMAT=text``) writes plain lines, still with the correlation id. Calling it
    again replaces the handler it installed before, not the others.
    """
    if level is None:
        level = os.environ.get("CCHC_LOG_LEVEL", "INFO").upper()
    if json_lines is None:
        json_lines = os.environ.get("CCHC_LOG_FORMAT", "json").lower() != "text"
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s [%(correlation_id)s] %(message)s"))
    setattr(handler, _OUR_HANDLER, True)
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _OUR_HANDLER, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    return handler


# --- traces ---------------------------------------------------------------------------------

_W3C = TraceContextTextMapPropagator()
_tracing_lock = threading.Lock()
_provider: TracerProvider | None = None
_otlp_endpoint: str | None = None


def otlp_traces_endpoint(endpoint: str | None = None) -> str | None:
    """The OTLP/HTTP traces URL configured, if any: ``endpoint`` (a base URL), else
    ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (the full URL), else ``OTEL_EXPORTER_OTLP_ENDPOINT``
    (a base URL: ``/v1/traces`` is appended, as the OTLP specification says)."""
    if not endpoint:
        full = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        if full:
            return full
        endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
    if not endpoint:
        return None
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else f"{endpoint}/v1/traces"


def _sdk_provider(service_name: str) -> TracerProvider:
    """The process's recording provider, installed as the global one on first use."""
    global _provider
    with _tracing_lock:
        if _provider is None:
            existing = trace.get_tracer_provider()
            if isinstance(existing, TracerProvider):  # someone (a test, an agent) was first
                _provider = existing
            else:
                name = os.environ.get("OTEL_SERVICE_NAME") or service_name
                _provider = TracerProvider(resource=Resource.create({"service.name": name}))
                trace.set_tracer_provider(_provider)
        return _provider


def configure_tracing(
    service_name: str = "cchc", *, endpoint: str | None = None
) -> TracerProvider | None:
    """Traces for this process when an OTLP endpoint is configured; else none are recorded.

    Spans nobody exports cost every request its share of the CPU (measured with bench/run.py:
    recording them without an exporter halved the request rate on 2 cores), so without an
    endpoint the global provider stays OpenTelemetry's no-op one. With one, a recording provider
    is installed once per process (the other services of ``cchc up`` share it; the first
    caller's name is its ``service.name``) with an OTLP/HTTP exporter.
    """
    global _otlp_endpoint
    url = otlp_traces_endpoint(endpoint)
    if not url:
        return _sdk_provider(service_name) if tracing_enabled() else _provider
    provider = _sdk_provider(service_name)
    with _tracing_lock:
        if _otlp_endpoint is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=url)))
            _otlp_endpoint = url
    return provider


def tracing_enabled() -> bool:
    """Whether this process traces: an OTLP endpoint is configured, or ``CCHC_TRACING`` is on."""
    forced = os.environ.get("CCHC_TRACING", "").lower() in ("1", "on", "true", "yes")
    return forced or bool(otlp_traces_endpoint())


def tracer_provider() -> trace.TracerProvider:
    """The global provider, for FastStream's ``NatsTelemetryMiddleware``: before a recording one
    is installed it is OpenTelemetry's proxy, whose tracers follow the one installed later."""
    return trace.get_tracer_provider()


def install_in_memory_exporter() -> InMemorySpanExporter:
    """For tests: every span ended from now on is also kept in the returned exporter
    (``get_finished_spans()``, ``clear()``), synchronously, until its ``shutdown()``."""
    exporter = InMemorySpanExporter()
    _sdk_provider("cchc").add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@contextmanager
def captured_spans() -> Iterator[InMemorySpanExporter]:
    """For tests: ``with captured_spans() as spans: ...; spans.get_finished_spans()``. On exit
    the exporter keeps nothing more (a provider cannot drop a processor; it stops storing), so
    a long test session does not hold every later span in memory."""
    exporter = install_in_memory_exporter()
    try:
        yield exporter
    finally:
        exporter.clear()
        exporter.shutdown()


@functools.lru_cache(maxsize=64)
def get_tracer(name: str) -> trace.Tracer:
    """A tracer of the global provider, made once per name; safe at import time (made before
    ``configure_tracing``, it follows the provider installed later)."""
    return trace.get_tracer(name)


def current_traceparent() -> str | None:
    """The W3C ``traceparent`` of the current span, or None outside any (valid) span."""
    carrier: dict[str, str] = {}
    _W3C.inject(carrier)
    return carrier.get("traceparent")


def inject_trace_context(
    carrier: MutableMapping[str, str] | None = None, context: Context | None = None
) -> MutableMapping[str, str]:
    """``carrier`` (a new dict by default) with the current (or ``context``'s) ``traceparent``
    and ``tracestate`` added, e.g. the headers of a NATS message."""
    carrier = {} if carrier is None else carrier
    _W3C.inject(carrier, context=context)
    return carrier


def extract_trace_context(carrier: Mapping[str, str] | None) -> Context:
    """The context a ``traceparent`` (in headers) names, to start a child span in it."""
    return _W3C.extract(dict(carrier or {}))


def span_context_of(traceparent: str | None) -> SpanContext | None:
    if not traceparent:
        return None
    context = trace.get_current_span(_W3C.extract({"traceparent": traceparent})).get_span_context()
    return context if context.is_valid else None


def link_from_traceparent(
    traceparent: str | None, attributes: Mapping[str, Any] | None = None
) -> Link | None:
    """A Link to the span a stored ``traceparent`` names (None if absent or malformed)."""
    context = span_context_of(traceparent)
    return Link(context, dict(attributes) if attributes else None) if context else None


def link_from_carrier(carrier: Mapping[str, str] | None) -> Link | None:
    return link_from_traceparent((carrier or {}).get("traceparent"))


def trace_id_hex(traceparent_or_context: str | SpanContext | None) -> str | None:
    """The 32-hex-digit trace id of a ``traceparent`` or span context."""
    if isinstance(traceparent_or_context, str):
        traceparent_or_context = span_context_of(traceparent_or_context)
    if traceparent_or_context is None or not traceparent_or_context.is_valid:
        return None
    return format(traceparent_or_context.trace_id, "032x")


# --- metrics --------------------------------------------------------------------------------

PROJECTION_EVENTS_APPLIED = Counter(
    "cchc_projection_events_applied",
    "Events a projection applied to its read model (redeliveries skipped, parked excluded)",
    ["projection"],
)
PROJECTION_PARKED = Counter(
    "cchc_projection_parked_events",
    "Events a projection set aside (undecodable, or failing on their own) and went past",
    ["projection"],
)
PROJECTION_POSITION = Gauge(
    "cchc_projection_position",
    "The last log position a projection applied (its checkpoint)",
    ["projection"],
)
PROJECTION_LAG = Gauge(
    "cchc_projection_lag_events",
    "Events in the log a projection has not applied yet (log head minus checkpoint)",
    ["projection"],
)


def start_metrics_server(
    port: int, addr: str = "0.0.0.0", registry: CollectorRegistry = REGISTRY
) -> bool:
    """Serve ``/metrics`` (every metric of this process) on ``port`` in a daemon thread.

    For a service deployed on its own (``CCHC_<SERVICE>_METRICS_PORT``). Port 0 means off (the
    embedded stack serves everything at the gateway's ``/metrics``); returns whether it started.
    """
    if not port:
        return False
    start_http_server(port, addr=addr, registry=registry)
    return True
