"""Commands: the HTTP request becomes a Request to the service; its Reply becomes the answer.

Idempotency-Key replays the first answer without calling the service again, If-Match becomes the
expected version, and the reply's version and position come back as ETag and X-Event-Position.
"""

import asyncio
import uuid

from cchc.contracts.messages import ProblemKind, Reply, ServiceProblem

RECEIVE = {"procedure": "1.001", "channel": "online", "received_at": "2024-03-04T08:00:00+07:00",
           "applicant": {"name": "Trần Thị B", "phone": "0903000000"}}
RESOLVE = {"resolved_at": "2024-03-05T10:00:00+07:00", "outcome": "approved", "reason": ""}
CREATED = Reply(ok=True, result={"id": "D-42", "agency": "SO-XD", "status": "in_progress",
                                 "version": 1}, version=1, position=17)


def unique_key() -> str:
    return f"phieu-{uuid.uuid4()}"



def as_forwarded(body: dict) -> dict:
    """The validated command the gateway forwards: the body with the optional late-entry reason."""
    return {**body, "late_entry_reason": None, "imported_from": None}

async def test_receiving_a_dossier_answers_201_with_version_position_and_location(
    client, stand_in, as_role
):
    stand_in.answer("receive-dossier", CREATED)
    response = await client.post("/api/v1/dossiers", json=RECEIVE,
                                 headers={**as_role("admin", sub="mot-cua"),
                                          "X-Correlation-Id": "corr-1"})
    assert response.status_code == 201
    assert response.json() == CREATED.result
    assert response.headers["etag"] == '"1"'
    assert response.headers["x-event-position"] == "17"
    assert response.headers["location"] == "/api/v1/dossiers/D-42"
    [request] = stand_in.requests_to("receive-dossier")
    assert request.body == as_forwarded(RECEIVE)
    assert request.target is None
    assert request.meta.principal.sub == "mot-cua"
    assert request.meta.correlation_id == "corr-1"
    assert request.meta.idempotency_key is None and request.meta.expected_version is None


async def test_a_command_on_a_dossier_targets_it_and_passes_if_match(client, stand_in, as_role):
    stand_in.answer("resolve-dossier", Reply(ok=True, result={"id": "D-42"}, version=4,
                                             position=99))
    response = await client.post("/api/v1/dossiers/D-42/resolution", json=RESOLVE,
                                 headers={**as_role("admin"), "If-Match": '"3"'})
    assert response.status_code == 200
    assert (response.headers["etag"], response.headers["x-event-position"]) == ('"4"', "99")
    [request] = stand_in.requests_to("resolve-dossier")
    assert request.target == "D-42"
    assert request.meta.expected_version == 3
    assert request.body == as_forwarded(RESOLVE)


async def test_each_dossier_command_reaches_its_endpoint(client, stand_in, as_role):
    commands = {
        "supplement-request": ("request-supplement",
                               {"requested_at": "2024-03-05T10:00:00+07:00", "reason": "thiếu"}),
        "supplement": ("supplement-dossier", {"supplemented_at": "2024-03-06T10:00:00+07:00"}),
        "extension": ("extend-dossier", {"extended_at": "2024-03-07T10:00:00+07:00",
                                         "new_due_at": "2024-03-20T17:00:00+07:00",
                                         "reason": "xin lỗi"}),
        "resolution": ("resolve-dossier", RESOLVE),
        "result-return": ("return-result", {"returned_at": "2024-03-08T10:00:00+07:00"}),
        "withdrawal": ("withdraw-dossier", {"withdrawn_at": "2024-03-08T10:00:00+07:00",
                                            "reason": "rút hồ sơ"}),
    }
    for action, (endpoint, body) in commands.items():
        response = await client.post(f"/api/v1/dossiers/D-7/{action}", json=body,
                                     headers=as_role("officer", "SO-XD"))
        assert response.status_code == 200, (action, response.text)
        [request] = stand_in.requests_to(endpoint)
        assert (request.target, request.body) == ("D-7", as_forwarded(body))


async def test_a_stale_version_is_the_services_412(client, stand_in, as_role):
    stand_in.answer("resolve-dossier", Reply(ok=False, problem={
        "title": "Precondition failed", "kind": "precondition_failed", "detail": "the dossier is at version 5"}))
    response = await client.post("/api/v1/dossiers/D-42/resolution", json=RESOLVE,
                                 headers={**as_role("admin"), "If-Match": '"3"'})
    assert response.status_code == 412
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_malformed_if_match_is_400_and_reaches_no_service(client, stand_in, as_role):
    for value in ("3", '"three"', '"-1"', "W/"):
        response = await client.post("/api/v1/dossiers/D-42/resolution", json=RESOLVE,
                                     headers={**as_role("admin"), "If-Match": value})
        assert response.status_code == 400, value
        assert response.json()["errors"][0]["field"] == "If-Match"
    assert stand_in.received == []


async def test_the_same_key_and_body_twice_calls_the_service_once(client, stand_in, as_role):
    stand_in.answer("receive-dossier", CREATED)
    headers = {**as_role("officer", "SO-XD"), "Idempotency-Key": unique_key()}
    first = await client.post("/api/v1/dossiers", json=RECEIVE, headers=headers)
    again = await client.post("/api/v1/dossiers", json=RECEIVE, headers=headers)
    assert len(stand_in.requests_to("receive-dossier")) == 1
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    for header in ("etag", "x-event-position", "location"):
        assert again.headers[header] == first.headers[header]
    assert again.headers["idempotent-replayed"] == "true"
    # The service gets a key derived from caller, route and client key, not the raw client key.
    [request] = stand_in.requests_to("receive-dossier")
    assert len(request.meta.idempotency_key) == 64
    assert headers["Idempotency-Key"] not in request.meta.idempotency_key


async def test_the_same_key_with_another_body_is_409(client, stand_in, as_role):
    headers = {**as_role("admin"), "Idempotency-Key": unique_key()}
    assert (await client.post("/api/v1/dossiers", json=RECEIVE, headers=headers)).status_code == 201
    other = await client.post("/api/v1/dossiers", json={**RECEIVE, "channel": "postal"},
                              headers=headers)
    assert other.status_code == 409
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert len(stand_in.requests_to("receive-dossier")) == 1


async def test_a_key_belongs_to_its_caller_and_its_route(client, stand_in, as_role):
    key = unique_key()
    await client.post("/api/v1/dossiers", json=RECEIVE,
                      headers={**as_role("admin", sub="a"), "Idempotency-Key": key})
    await client.post("/api/v1/dossiers", json=RECEIVE,
                      headers={**as_role("admin", sub="b"), "Idempotency-Key": key})
    await client.post("/api/v1/dossiers/D-1/resolution", json=RESOLVE,
                      headers={**as_role("admin", sub="a"), "Idempotency-Key": key})
    keys = {request.meta.idempotency_key for _, request in stand_in.received}
    assert len(stand_in.received) == 3 and len(keys) == 3


async def test_a_client_error_is_replayed_but_a_server_error_is_retried(client, stand_in, as_role):
    headers = {**as_role("admin"), "Idempotency-Key": unique_key()}
    stand_in.answer("resolve-dossier", Reply(ok=False, problem={"title": "Conflict",
                                                                "kind": "conflict"}))
    url = "/api/v1/dossiers/D-1/resolution"
    assert (await client.post(url, json=RESOLVE, headers=headers)).status_code == 409
    stand_in.answer("resolve-dossier", Reply(ok=True, result={"id": "D-1"}, version=2))
    assert (await client.post(url, json=RESOLVE, headers=headers)).status_code == 409
    assert len(stand_in.requests_to("resolve-dossier")) == 1

    headers = {**as_role("admin"), "Idempotency-Key": unique_key()}
    stand_in.answer("resolve-dossier", Reply(ok=False, problem={"title": "Internal error",
                                                                "kind": "internal"}))
    assert (await client.post(url, json=RESOLVE, headers=headers)).status_code == 500
    stand_in.answer("resolve-dossier", Reply(ok=True, result={"id": "D-1"}, version=2))
    assert (await client.post(url, json=RESOLVE, headers=headers)).status_code == 200
    assert len(stand_in.requests_to("resolve-dossier")) == 3


async def test_concurrent_twins_get_one_answer(client, stand_in, as_role):
    stand_in.answer("receive-dossier", CREATED)
    headers = {**as_role("admin"), "Idempotency-Key": unique_key()}
    answers = await asyncio.gather(*(
        client.post("/api/v1/dossiers", json=RECEIVE, headers=headers) for _ in range(5)
    ))
    assert {(a.status_code, a.text) for a in answers} == {(201, answers[0].text)}
    # Twins that raced past the record all sent the same key, so the log keeps one event.
    assert len({r.meta.idempotency_key for r in stand_in.requests_to("receive-dossier")}) == 1


async def test_an_unusable_idempotency_key_is_400(client, stand_in, as_role):
    response = await client.post("/api/v1/dossiers", json=RECEIVE,
                                 headers={**as_role("admin"), "Idempotency-Key": "k" * 300})
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_a_service_that_does_not_answer_is_503_with_retry_after(client, as_role):
    # No stand-in: nothing subscribes to svc.dossier.*, so NATS reports no responders.
    response = await client.post("/api/v1/dossiers", json=RECEIVE, headers=as_role("admin"))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
    reads = await client.get("/api/v1/dossiers/D-1", headers=as_role("admin"))
    assert reads.status_code == 503


async def test_a_service_that_answers_unavailable_is_503_with_retry_after(client, stand_in, as_role):
    """The service's log or receipt book did not answer (a stream's leader moving): retry."""
    stand_in.answer("receive-dossier", Reply.refused(ServiceProblem(
        kind=ProblemKind.UNAVAILABLE, title="Service unavailable",
        detail="the receipt book did not answer (NoRespondersError); try again")))
    response = await client.post("/api/v1/dossiers", json=RECEIVE, headers=as_role("admin"))
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) > 0
