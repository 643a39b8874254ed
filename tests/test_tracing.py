"""One request, one trace: the gateway's span, the service's span and the stored event share it,
and /metrics counts the request (the whole stack in this process, an in-memory exporter)."""

import os
from datetime import UTC, datetime

import nats
import pytest
from prometheus_client.parser import text_string_to_metric_families

from api_steps import agency_with_procedure, receive
from cchc.runtime.eventstore import EventStore
from cchc.runtime.observability import install_in_memory_exporter, trace_id_hex


@pytest.fixture(scope="module", autouse=True)
def tracing_on():
    """Tracing is off by default (spans cost requests); this module's stack traces."""
    os.environ["CCHC_TRACING"] = "1"
    yield
    os.environ.pop("CCHC_TRACING", None)


def count_of(metrics_text: str, route: str, status: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            labels = sample.labels
            if (sample.name.endswith("_total") and labels.get("route") == route
                    and labels.get("status") == status):
                total += sample.value
    return total


async def test_a_receipt_is_one_trace_from_http_through_nats_to_the_stored_event(stack_api):
    spans = install_in_memory_exporter()
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    officer = stack_api.as_("officer", agency)
    before = count_of((await admin.get("/metrics")).text, "/api/v1/dossiers", "201")
    spans.clear()

    received = await receive(officer, procedure, datetime.now(UTC).isoformat())
    assert received.status_code == 201, received.text

    nc = await nats.connect(stack_api.stack.nats_url_of("ops"))
    try:
        envelope = await EventStore(nc).get("dossier", int(received.headers["X-Event-Position"]))
    finally:
        await nc.close()
    trace_id = trace_id_hex(envelope.traceparent)
    assert trace_id is not None

    finished = spans.get_finished_spans()
    in_trace = [span for span in finished if f"{span.context.trace_id:032x}" == trace_id]
    kinds = {span.kind.name for span in in_trace}
    names = [span.name for span in in_trace]
    assert "SERVER" in kinds, names  # the gateway's HTTP span
    assert "CONSUMER" in kinds, names  # the dossier service handling svc.dossier.receive-dossier
    assert any("receive-dossier" in name for name in names), names

    after = count_of((await admin.get("/metrics")).text, "/api/v1/dossiers", "201")
    assert after == before + 1
