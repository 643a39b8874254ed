"""The gateway's /metrics and its server spans, on the real app and a real nats-server.

Each request is counted under its route template (not its path) and its status, and timed;
/metrics is Prometheus' text format and stays out of the OpenAPI document. Each request is a
SERVER span (FastAPI's own) named by its route, in the caller's trace when it sends a traceparent,
and carries the request's correlation id.
"""

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from cchc.runtime.observability import (
    captured_spans,
    current_correlation_id,
)

DOSSIER_ROUTE = "/api/v1/dossiers/{dossier_id}"
CALLER_TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_TRACEPARENT = f"00-{CALLER_TRACE}-b7ad6b7169203331-01"


@pytest.fixture
def spans():
    """The spans ended during the test."""
    with captured_spans() as exporter:
        yield exporter


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """{sorted labels: value} of one sample name in an exposition text."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


async def scrape(client) -> str:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def count(text: str, method: str, route: str, status: str) -> float:
    key = (("method", method), ("route", route), ("status", status))
    return samples(text, "cchc_http_requests_total").get(key, 0.0)


async def test_metrics_parse_and_count_a_request_by_route_template_and_status(client):
    before = await scrape(client)
    response = await client.get("/api/v1/dossiers/D-0001")  # no token
    assert response.status_code == 401
    await client.get("/api/v1/dossiers/D-0002")
    await client.get("/no/such/path")
    after = await scrape(client)

    assert (count(after, "GET", DOSSIER_ROUTE, "401")
            == count(before, "GET", DOSSIER_ROUTE, "401") + 2)
    assert count(after, "GET", "unmatched", "404") == count(before, "GET", "unmatched", "404") + 1
    assert not [labels for labels in samples(after, "cchc_http_requests_total")
                if ("route", "/api/v1/dossiers/D-0001") in labels], "a path, not a template"
    timed = samples(after, "cchc_http_request_duration_seconds_count")
    timed_before = samples(before, "cchc_http_request_duration_seconds_count")
    key = (("method", "GET"), ("route", DOSSIER_ROUTE))
    assert timed[key] == timed_before.get(key, 0.0) + 2
    # The scrape itself is counted, under its own route.
    assert count(after, "GET", "/metrics", "200") >= 1


async def test_a_method_nobody_answers_is_counted_as_other_not_by_its_name(client):
    before = await scrape(client)
    for made_up in ("BREW", "WHATEVER1"):
        await client.request(made_up, "/no/such/path")
    after = await scrape(client)
    assert count(after, "other", "unmatched", "404") == count(before, "other", "unmatched",
                                                              "404") + 2
    assert not [labels for labels in samples(after, "cchc_http_requests_total")
                if ("method", "BREW") in labels]


async def test_metrics_are_not_in_the_openapi_document(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    assert "/metrics" not in paths


async def test_a_request_is_a_server_span_in_the_callers_trace(client, spans):
    response = await client.get("/api/v1/dossiers/D-0003", headers={
        "traceparent": CALLER_TRACEPARENT, "X-Correlation-Id": "corr-from-caller"})
    assert response.status_code == 401
    found = [s for s in spans.get_finished_spans() if s.name == f"GET {DOSSIER_ROUTE}"]
    (span,) = found
    assert format(span.context.trace_id, "032x") == CALLER_TRACE
    assert format(span.parent.span_id, "016x") == "b7ad6b7169203331"
    assert span.attributes["http.route"] == DOSSIER_ROUTE
    assert span.attributes["http.response.status_code"] == 401
    assert span.attributes["cchc.correlation_id"] == "corr-from-caller"
    assert current_correlation_id() is None  # the request's id ends with the request


async def test_an_unusable_correlation_id_is_replaced(client, spans):
    await client.get("/api/v1/dossiers/D-0004", headers={"X-Correlation-Id": "x" * 300})
    found = [s for s in spans.get_finished_spans() if s.name == f"GET {DOSSIER_ROUTE}"]
    (span,) = found
    assert len(span.attributes["cchc.correlation_id"]) == 36  # a new uuid


async def test_a_gateway_given_a_metrics_port_keeps_metrics_off_its_public_port(settings):
    """Deployed, the metrics are served on their own port (CCHC_GATEWAY_METRICS_PORT), open to
    the scraper only: the public HTTP port has no /metrics."""
    from cchc.gateway.app import create_app

    app = create_app(settings.model_copy(update={"metrics_port": 9100}))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as public:
        assert (await public.get("/metrics")).status_code == 404
