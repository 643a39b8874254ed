"""Who may do what: 401 for a missing or bad token, 403 for a role or agency not allowed."""

import time

import jwt
import pytest

from cchc.contracts.messages import Reply

PROBLEM = "application/problem+json"

RECEIVE = {"procedure": "1.001", "channel": "direct", "received_at": "2024-03-04T08:00:00+07:00",
           "applicant": {"name": "Nguyễn Văn A"}}
PROCEDURE = {"code": "1.001", "name": "Cấp giấy phép", "agency": "SO-XD", "field": "Xây dựng",
             "processing_days": 15, "online_level": "partial"}

EVERY_POST = [
    "/api/v1/agencies", "/api/v1/procedures", "/api/v1/calendar/days", "/api/v1/dossiers",
    *(f"/api/v1/dossiers/D1/{action}" for action in (
        "supplement-request", "supplement", "extension", "resolution", "result-return",
        "withdrawal")),
]


def assert_unauthorized(response) -> None:
    assert response.status_code == 401
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401


async def test_a_request_without_a_token_is_401(client, stand_in):
    assert_unauthorized(await client.get("/api/v1/agencies"))
    assert_unauthorized(await client.post("/api/v1/dossiers", json=RECEIVE))
    assert stand_in.received == []


async def test_a_token_signed_with_another_secret_or_garbage_is_401(client, stand_in, as_role):
    forged = as_role("admin", secret="someone-else-entirely-0123456789")
    assert_unauthorized(await client.get("/api/v1/agencies", headers=forged))
    assert_unauthorized(await client.get("/api/v1/agencies",
                                         headers={"Authorization": "Bearer not.a.jwt"}))
    assert_unauthorized(await client.get("/api/v1/agencies",
                                         headers={"Authorization": "Basic dXNlcjpwYXNz"}))


async def test_an_expired_token_is_401(client, stand_in, secret):

    past = int(time.time()) - 3600
    token = jwt.encode({"sub": "u", "role": "admin", "iat": past - 60, "exp": past}, secret,
                       algorithm="HS256")
    assert_unauthorized(await client.get("/api/v1/agencies",
                                         headers={"Authorization": f"Bearer {token}"}))


async def test_an_officer_token_without_agency_or_an_unknown_role_is_401(
    client, stand_in, secret
):

    for claims in ({"sub": "u", "role": "officer"}, {"sub": "u", "role": "mayor"}):
        token = jwt.encode(claims, secret, algorithm="HS256")
        assert_unauthorized(await client.get("/api/v1/agencies",
                                             headers={"Authorization": f"Bearer {token}"}))


@pytest.mark.parametrize("path", EVERY_POST)
async def test_an_inspector_writes_nothing(client, stand_in, as_role, path):
    response = await client.post(path, json={}, headers=as_role("inspector"))
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert stand_in.received == []


@pytest.mark.parametrize("path", ["/api/v1/agencies", "/api/v1/calendar/days"])
async def test_only_admin_and_home_affairs_declare_province_wide_facts(
    client, stand_in, as_role, path
):
    response = await client.post(path, json={}, headers=as_role("officer", "SO-XD"))
    assert response.status_code == 403
    body = {"code": "SO-XD", "name": "Sở Xây dựng", "group": "department"}
    ok = await client.post("/api/v1/agencies", json=body, headers=as_role("home_affairs"))
    assert ok.status_code == 201


async def test_an_officer_publishes_procedures_only_for_its_own_agency(client, stand_in, as_role):
    other = await client.post("/api/v1/procedures", json=PROCEDURE,
                              headers=as_role("officer", "SO-TP"))
    assert other.status_code == 403
    assert other.json()["errors"][0]["field"] == "agency"
    assert stand_in.requests_to("publish-procedure") == []

    own = await client.post("/api/v1/procedures", json=PROCEDURE,
                            headers=as_role("officer", "SO-XD"))
    assert own.status_code == 201
    [request] = stand_in.requests_to("publish-procedure")
    assert request.meta.principal.agency == "SO-XD"
    assert request.body == {**PROCEDURE, "published_on": None, "imported_from": None}  # today


async def test_an_officers_dossier_command_carries_its_principal_for_the_service_to_scope(
    client, stand_in, as_role
):
    stand_in.answer("receive-dossier", Reply(ok=False, problem={
        "title": "Forbidden", "kind": "forbidden", "detail": "procedure of another agency"}))
    response = await client.post("/api/v1/dossiers", json=RECEIVE,
                                 headers=as_role("officer", "SO-TP", sub="can-bo-1"))
    assert response.status_code == 403
    [request] = stand_in.requests_to("receive-dossier")
    assert (request.meta.principal.sub, request.meta.principal.role) == ("can-bo-1", "officer")


@pytest.mark.parametrize("path, params", [
    ("/api/v1/dossier-stats", {"agency": "SO-XD", "from": "2024-01-01", "to": "2024-03-31"}),
    ("/api/v1/dossiers", {"agency": "SO-XD"}),
    ("/api/v1/procedures", {"agency": "SO-XD"}),
])
async def test_an_officer_reading_another_agency_is_403(client, stand_in, as_role, path, params):
    response = await client.get(path, params=params, headers=as_role("officer", "SO-TP"))
    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert stand_in.received == []


async def test_an_officer_without_agency_filter_is_scoped_by_the_service(client, stand_in, as_role):
    params = {"from": "2024-01-01", "to": "2024-03-31"}
    response = await client.get("/api/v1/dossier-stats", params=params,
                                headers=as_role("officer", "SO-TP"))
    assert response.status_code == 200
    [request] = stand_in.requests_to("dossier-stats")
    assert request.body["agency"] is None
    assert request.meta.principal.agency == "SO-TP"


async def test_an_inspector_reads_any_agency(client, stand_in, as_role):
    response = await client.get("/api/v1/dossiers", params={"agency": "SO-XD"},
                                headers=as_role("inspector"))
    assert response.status_code == 200


async def test_me_answers_the_principal_of_the_token(client, stand_in, as_role):
    response = await client.get("/api/v1/me", headers=as_role("officer", "SO-TP", sub="can-bo-1"))
    assert response.json() == {"sub": "can-bo-1", "role": "officer", "agency": "SO-TP"}
