"""Traces, metrics and logs of the runtime, against a real nats-server and SQLite.

An append under a span keeps that span's trace context in the stored envelope; the projection
that applies the event makes a span linked to it; the projection's metrics count what it applied
and parked and say how far behind the log it is; log lines are JSON and carry the correlation id.
"""

import asyncio
import io
import json
import logging
import urllib.request
import uuid
from datetime import UTC, date, datetime

import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Column, Integer, MetaData, String, Table

from cchc.contracts.dossier import CalendarDayDeclared, DayKind
from cchc.contracts.envelope import EventEnvelope, verify_chain
from cchc.contracts.subjects import event_subject, stream_name
from cchc.runtime.eventstore import AggregateHistory, EventStore, Metadata
from cchc.runtime.ids import new_id
from cchc.runtime.natsserver import NatsServer
from cchc.runtime.observability import (
    configure_logging,
    captured_spans,
    correlation_scope,
    get_tracer,
    link_from_traceparent,
    otlp_traces_endpoint,
    start_metrics_server,
    trace_id_hex,
)
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream

CONTEXT = "dossier"


@pytest.fixture(scope="module")
def nats_server(tmp_path_factory):
    """A log of this module's own: the garbage message parked here must not reach the other
    modules' projections (they share the session's server)."""
    server = NatsServer(store_dir=tmp_path_factory.mktemp("nats-observability")).start()
    yield server
    server.stop()


@pytest.fixture
def spans():
    """The spans ended during the test."""
    with captured_spans() as exporter:
        yield exporter


class RowsProjection:
    context = CONTEXT

    def __init__(self) -> None:
        self.name = f"obs-{uuid.uuid4().hex[:8]}"
        self.metadata = MetaData()
        self.table = Table(f"rows_{self.name.replace('-', '_')}", self.metadata,
                           Column("position", Integer, primary_key=True),
                           Column("type", String(60)))

    async def apply(self, conn, envelope: EventEnvelope) -> None:
        await conn.execute(self.table.insert().values(position=envelope.position,
                                                      type=envelope.type))


def sample(name: str, projection: str) -> float:
    return REGISTRY.get_sample_value(name, {"projection": projection}) or 0.0


async def append_one(store: EventStore, aggregate_id: str | None = None):
    return await store.append(
        AggregateHistory(CONTEXT, aggregate_id or new_id()),
        CalendarDayDeclared(date=date(2022, 1, 3), kind=DayKind.DAY_OFF, note="obs"),
        agency="_province", occurred_at=datetime.now(UTC),
        meta=Metadata(actor="tester", correlation_id="corr-obs"),
    )


async def test_an_append_under_a_span_keeps_its_trace_in_the_stored_envelope(nc, spans):
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store = EventStore(nc)
    with get_tracer("test").start_as_current_span("command") as command:
        appended = await append_one(store)
    command_context = command.get_span_context()

    stored = await store.get(CONTEXT, appended.position)  # read back from JetStream
    assert trace_id_hex(stored.traceparent) == format(command_context.trace_id, "032x")
    assert verify_chain([stored])[0]
    # The stored context names the append span, a child of the command's span.
    (append_span,) = [s for s in spans.get_finished_spans()
                      if s.name == "append CalendarDayDeclared"]
    assert append_span.parent.span_id == command_context.span_id
    assert stored.traceparent.split("-")[2] == format(append_span.context.span_id, "016x")
    assert append_span.attributes["cchc.position"] == appended.position
    raw = await nc.jetstream().get_msg(stream_name(CONTEXT), appended.position, direct=True)
    assert json.loads(raw.data)["traceparent"] == stored.traceparent


async def test_a_projection_span_links_to_the_command_that_caused_its_event(
    nc, sqlite_url, spans
):
    await ensure_event_stream(nc.jetstream(), CONTEXT)
    store = EventStore(nc)
    with get_tracer("test").start_as_current_span("command") as command:
        appended = await append_one(store)
    trace_id = command.get_span_context().trace_id

    projection = RowsProjection()
    engine = create_engine(sqlite_url)
    runner = ProjectionRunner(nc, engine, projection)
    try:
        await runner.catch_up()
    finally:
        await runner.close()
        await engine.dispose()

    batches = [s for s in spans.get_finished_spans() if s.name == f"project {projection.name}"]
    assert batches
    linked = [(batch, link) for batch in batches for link in batch.links
              if link.context.trace_id == trace_id]
    assert len(linked) == 1, "one link, from the batch that applied the event"
    batch, link = linked[0]
    assert link.attributes["cchc.position"] == appended.position
    assert batch.context.trace_id != trace_id  # linked, not a child: it runs on its own
    assert batch.parent is None


async def test_projection_metrics_count_applied_and_parked_events_and_the_lag(nc, sqlite_url):
    js = nc.jetstream()
    await ensure_event_stream(js, CONTEXT)
    store = EventStore(nc)
    for _ in range(3):
        await append_one(store)
    projection = RowsProjection()
    name = projection.name
    engine = create_engine(sqlite_url)
    runner = ProjectionRunner(nc, engine, projection, batch_size=2)
    lags: list[float] = []
    try:
        head = (await js.stream_info(stream_name(CONTEXT))).state.last_seq
        await runner.catch_up(lambda position, target: lags.append(
            sample("cchc_projection_lag_events", name)))
        assert runner.position == head
        # Behind the head while replaying in batches of 2, at the head once caught up.
        assert lags[0] > 0 and lags[-1] == 0
        assert sample("cchc_projection_lag_events", name) == 0
        assert sample("cchc_projection_position", name) == head
        applied = sample("cchc_projection_events_applied_total", name)
        parked = sample("cchc_projection_parked_events_total", name)
        assert applied >= 3 and applied + parked == head  # the log's earlier garbage, if any

        # A message that is no envelope is parked; a good one after it is applied.
        garbage = await js.publish(
            event_subject(CONTEXT, "_province", new_id()),
            b"not an envelope", stream=stream_name(CONTEXT))
        await append_one(store)
        await runner.catch_up()
        assert sample("cchc_projection_parked_events_total", name) == parked + 1
        assert sample("cchc_projection_events_applied_total", name) == applied + 1
        assert sample("cchc_projection_lag_events", name) == 0
        assert sample("cchc_projection_position", name) == garbage.seq + 1
    finally:
        await runner.close()
        await engine.dispose()


def test_a_service_serves_its_own_metrics_on_its_port():
    assert start_metrics_server(0) is False  # off: the embedded stack serves them at the gateway
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert start_metrics_server(port, addr="127.0.0.1")
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    names = {family.name for family in text_string_to_metric_families(text)}
    assert {"cchc_projection_events_applied", "cchc_projection_lag_events"} <= names


def test_the_otlp_exporter_is_off_unless_an_endpoint_is_configured(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert otlp_traces_endpoint() is None
    assert otlp_traces_endpoint("http://collector:4318/") == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert otlp_traces_endpoint() == "http://collector:4318/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://tempo:4318/v1/traces")
    assert otlp_traces_endpoint() == "http://tempo:4318/v1/traces"


def test_link_from_a_malformed_or_missing_traceparent_is_none():
    assert link_from_traceparent(None) is None
    assert link_from_traceparent("garbage") is None
    link = link_from_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
    assert link is not None and trace_id_hex(link.context) == "4bf92f3577b34da6a3ce929d0e0e4736"


async def test_json_log_lines_carry_the_correlation_id_and_trace_id(spans):
    out = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("INFO", stream=out)
    try:
        log = logging.getLogger("cchc.test")
        log.info("before")
        with correlation_scope("corr-42"):
            with get_tracer("test").start_as_current_span("handler") as span:
                log.info("handled %s", "thing", extra={"endpoint": "receive-dossier"})

                async def in_a_task():
                    log.warning("in a task")

                await asyncio.create_task(in_a_task())
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
    finally:
        root.removeHandler(handler)
        root.setLevel(level)

    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["message"] for line in lines] == ["before", "handled thing", "in a task", "failed"]
    before, handled, in_task, failed = lines
    assert "correlation_id" not in before and "trace_id" not in before
    assert handled["correlation_id"] == in_task["correlation_id"] == "corr-42"
    assert handled["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert handled["level"] == "INFO" and handled["logger"] == "cchc.test"
    assert handled["endpoint"] == "receive-dossier"
    assert handled["time"].endswith("+00:00")
    assert in_task["level"] == "WARNING"
    assert "correlation_id" not in failed and "RuntimeError: boom" in failed["exception"]
