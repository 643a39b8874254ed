"""Health reflects whether every service answers; the OpenAPI document lists the API.md paths."""

from cchc.runtime.testing import serve_stand_in


async def test_health_is_ok_when_every_service_answers(client, stand_in):
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "nats": "ok", "services": {"dossier": "ok"},
                               "projections": {}}
    assert stand_in.requests_to("health")


async def test_health_shows_the_projection_versions_a_service_reports(client, nats_server):
    """An upgrade under way: the version that serves and the one replaying, as the service said
    (cchc.runtime.service.HealthAnswer); readiness stays the service's own."""
    from cchc.contracts.messages import Reply

    versions = {"dossier-read": {"serving": "dossier-read-v4", "position": 812,
                                 "building": {"name": "dossier-read-v5", "position": 300,
                                              "head": 812}}}

    async def upgrading(_request):
        return Reply(ok=True, result={"service": "dossier", "projection_position": 812,
                                      "projection_versions": versions})

    stand_in_broker = await serve_stand_in(nats_server.url, "dossier", {"health": upgrading})
    try:
        response = await client.get("/health")
    finally:
        await stand_in_broker.stop()
    assert response.status_code == 200
    assert response.json()["projections"] == {"dossier": versions}
    assert "backups" not in response.json()  # this gateway is given no backup folder


async def test_health_is_503_when_a_service_is_missing(client):
    response = await client.get("/health")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["services"] == {"dossier": "down"}


async def test_health_is_503_when_a_service_reports_not_ok(client, nats_server):
    from cchc.contracts.messages import Reply, ServiceProblem

    async def unwell(_request):
        return Reply(ok=False, problem=ServiceProblem(kind="unavailable", title="database down"))

    stand_in_broker = await serve_stand_in(nats_server.url, "dossier", {"health": unwell})
    try:
        assert (await client.get("/health")).status_code == 503
    finally:
        await stand_in_broker.stop()


async def test_openapi_lists_the_dossier_paths_of_api_md(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["info"]["title"] == "CCHC Ledger API"
    operations = {
        (method.upper(), path.replace("{dossier_id}", "{id}")): operation["operationId"]
        for path, item in document["paths"].items() for method, operation in item.items()
    }
    expected = {
        ("POST", "/api/v1/agencies"): "register_agency",
        ("GET", "/api/v1/agencies"): "list_agencies",
        ("POST", "/api/v1/procedures"): "publish_procedure",
        ("GET", "/api/v1/procedures"): "list_procedures",
        ("POST", "/api/v1/calendar/days"): "declare_calendar_day",
        ("POST", "/api/v1/dossiers"): "receive_dossier",
        ("POST", "/api/v1/dossiers/{id}/supplement-request"): "request_supplement",
        ("POST", "/api/v1/dossiers/{id}/supplement"): "supplement_dossier",
        ("POST", "/api/v1/dossiers/{id}/extension"): "extend_dossier",
        ("POST", "/api/v1/dossiers/{id}/resolution"): "resolve_dossier",
        ("POST", "/api/v1/dossiers/{id}/result-return"): "return_result",
        ("POST", "/api/v1/dossiers/{id}/withdrawal"): "withdraw_dossier",
        ("GET", "/api/v1/dossiers/{id}"): "get_dossier",
        ("GET", "/api/v1/dossiers"): "list_dossiers",
        ("GET", "/api/v1/dossier-stats"): "get_dossier_stats",
        ("GET", "/api/v1/events"): "list_events",
        ("GET", "/api/v1/audit/dossiers/{id}"): "audit_dossier",
    }
    assert expected.items() <= operations.items()
    receive = document["paths"]["/api/v1/dossiers"]["post"]
    assert {p["name"] for p in receive["parameters"]} >= {"Idempotency-Key", "If-Match"}
    assert receive["responses"]["422"]["content"].keys() == {"application/problem+json"}
    assert "bearerAuth" in document["components"]["securitySchemes"] or \
        "HTTPBearer" in document["components"]["securitySchemes"]


async def test_docs_are_served(client):
    response = await client.get("/docs")
    assert response.status_code == 200 and "text/html" in response.headers["content-type"]


async def test_every_api_operation_declares_the_schema_of_its_answer(client):
    document = (await client.get("/openapi.json")).json()
    undeclared = []
    for path, operations in document["paths"].items():
        if not path.startswith("/api/v1"):
            continue
        for method, operation in operations.items():
            schemas = [
                answer.get("content", {}).get("application/json", {}).get("schema")
                # a document of its own kind (the receipt slip's PDF) declares its media type
                or next((t for t in answer.get("content", {}) if t != "application/json"), None)
                for status, answer in operation["responses"].items() if status.startswith("2")
            ]
            if not any(schemas):
                undeclared.append(f"{method.upper()} {path}")
    assert undeclared == []
    dossier = document["paths"]["/api/v1/dossiers/{dossier_id}"]["get"]["responses"]["200"]
    assert dossier["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/DossierDetail"}


async def test_a_failed_backup_shows_in_health_without_taking_the_gateway_out(
        client, stand_in, nats_server):
    from datetime import UTC, datetime

    import nats

    from cchc.runtime import backup_status

    nc = await nats.connect(nats_server.url)
    try:
        await backup_status.publish(nc, {
            "state": "failed", "at": datetime.now(UTC).isoformat(), "every_s": 86400,
            "error": "OSError: [Errno 28] No space left on device"})
        response = await client.get("/health")
        assert response.status_code == 200  # readiness is the services'
        backups = response.json()["backups"]
        assert not backups["healthy"] and "No space left on device" in backups["detail"]

        await backup_status.publish(nc, {
            "state": "whole", "at": "2026-01-01T01:00:00+00:00", "every_s": 86400})
        backups = (await client.get("/health")).json()["backups"]
        assert backups == {"healthy": False,
                           "detail": "the last backup whole is from 2026-01-01T01:00:00+00:00"}
    finally:
        await nc.jetstream().delete_key_value(backup_status.BUCKET)
        await nc.close()
