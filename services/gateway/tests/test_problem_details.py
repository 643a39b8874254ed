"""Every error is an RFC 9457 problem (application/problem+json), never an HTML or text page."""

import pytest

from cchc.contracts.messages import Reply

PROBLEM = "application/problem+json"
PROCEDURE = {"code": "1.001", "name": "Cấp giấy phép", "agency": "SO-XD", "field": "Xây dựng",
             "processing_days": 15, "online_level": "partial"}
RECEIVE = {"procedure": "1.001", "channel": "direct", "received_at": "2024-03-04T08:00:00+07:00",
           "applicant": {"name": "Nguyễn Văn A"}}


def problem_of(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert {"type", "title", "status", "detail", "errors"} <= body.keys()
    assert body["status"] == status
    return body


def fields(body: dict) -> list[str]:
    return [error["field"] for error in body["errors"]]


async def test_a_negative_processing_time_names_the_field(client, stand_in, as_role):
    response = await client.post("/api/v1/procedures", json={**PROCEDURE, "processing_days": -3},
                                 headers=as_role("admin"))
    assert fields(problem_of(response, 422)) == ["processing_days"]
    assert stand_in.received == []


async def test_a_time_without_offset_names_the_field(client, stand_in, as_role):
    response = await client.post("/api/v1/dossiers",
                                 json={**RECEIVE, "received_at": "2024-03-04T08:00:00"},
                                 headers=as_role("admin"))
    assert fields(problem_of(response, 422)) == ["received_at"]


async def test_nested_and_unknown_fields_are_named_by_their_path(client, stand_in, as_role):
    response = await client.post("/api/v1/dossiers",
                                 json={**RECEIVE, "applicant": {"phone": "0903"}, "colour": "red"},
                                 headers=as_role("admin"))
    assert sorted(fields(problem_of(response, 422))) == ["applicant.name", "colour"]


async def test_a_missing_body_is_422_on_body(client, stand_in, as_role):
    response = await client.post("/api/v1/dossiers/D1/withdrawal", headers=as_role("admin"))
    assert fields(problem_of(response, 422)) == ["body"]


async def test_malformed_json_is_400(client, stand_in, as_role):
    response = await client.post(
        "/api/v1/dossiers", content=b'{"procedure": "1.001",',
        headers={**as_role("admin"), "Content-Type": "application/json"},
    )
    assert problem_of(response, 400)["title"] == "Malformed JSON"
    assert stand_in.received == []


@pytest.mark.parametrize("limit", ["0", "501", "many"])
async def test_a_limit_outside_1_to_500_names_limit(client, stand_in, as_role, limit):
    for path in ("/api/v1/dossiers", "/api/v1/agencies", "/api/v1/procedures", "/api/v1/events"):
        response = await client.get(path, params={"limit": limit}, headers=as_role("admin"))
        assert fields(problem_of(response, 422)) == ["limit"], path
    assert stand_in.received == []


async def test_bad_query_values_name_their_parameter(client, stand_in, as_role):
    admin = as_role("admin")
    cases = [
        ("/api/v1/dossiers", {"status": "lost"}, "status"),
        ("/api/v1/dossiers", {"received_from": "2024-13-01"}, "received_from"),
        ("/api/v1/dossiers", {"received_from": "2024-03-02", "received_to": "2024-03-01"},
         "received_from"),
        ("/api/v1/dossier-stats", {"from": "2024-03-31", "to": "2024-01-01"}, "from"),
        ("/api/v1/dossier-stats", {"to": "2024-01-01"}, "from"),
        ("/api/v1/events", {"context": "weather"}, "context"),
        ("/api/v1/events", {"after": "-1"}, "after"),
    ]
    for path, params, field in cases:
        response = await client.get(path, params=params, headers=admin)
        assert fields(problem_of(response, 422)) == [field], (path, params)


async def test_an_id_that_cannot_name_a_dossier_is_422(client, stand_in, as_role):
    response = await client.get("/api/v1/audit/dossiers/a.b*", headers=as_role("admin"))
    assert fields(problem_of(response, 422)) == ["dossier_id"]


async def test_unknown_route_and_wrong_method_are_problems(client, stand_in, as_role):
    problem_of(await client.get("/api/v1/nothing-here", headers=as_role("admin")), 404)
    wrong = await client.delete("/api/v1/dossiers", headers=as_role("admin"))
    problem_of(wrong, 405)
    assert "allow" in wrong.headers


async def test_a_service_problem_keeps_its_status_and_fields(client, stand_in, as_role):
    stand_in.answer("resolve-dossier", Reply(ok=False, problem={
        "title": "Conflict", "kind": "conflict", "detail": "the dossier was withdrawn",
        "errors": [{"field": "status", "message": "withdrawn"}]}))
    response = await client.post("/api/v1/dossiers/D1/resolution", headers=as_role("admin"),
                                 json={"resolved_at": "2024-03-05T10:00:00+07:00",
                                       "outcome": "approved"})
    body = problem_of(response, 409)
    assert body["detail"] == "the dossier was withdrawn" and fields(body) == ["status"]


async def test_an_unexpected_error_is_a_500_problem(app, client, stand_in, as_role):
    async def explode() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/api/v1/test-explode", explode)
    body = problem_of(await client.get("/api/v1/test-explode"), 500)
    assert "a bug" not in body["detail"]  # internals stay in the log
