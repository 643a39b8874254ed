"""Queries: query parameters become the service's query body; X-Min-Position is passed through."""

from cchc.contracts.messages import Reply

PAGE = Reply(ok=True, result={"items": [{"code": "SO-XD"}], "next_cursor": "c2"})


async def test_list_dossiers_sends_the_list_query_with_default_limit(client, stand_in, as_role):
    stand_in.answer("list-dossiers", PAGE)
    response = await client.get("/api/v1/dossiers", headers=as_role("inspector"), params={
        "agency": "SO-XD", "status": "in_progress", "received_from": "2024-01-01",
        "received_to": "2024-03-31", "q": "nguyễn", "cursor": "c1"})
    assert response.status_code == 200 and response.json() == PAGE.result
    [request] = stand_in.requests_to("list-dossiers")
    assert request.body == {"agency": "SO-XD", "status": "in_progress",
                            "received_from": "2024-01-01", "received_to": "2024-03-31",
                            "irregular_supplement": None, "q": "nguyễn", "limit": 50,
                            "cursor": "c1"}
    assert "etag" not in response.headers


async def test_list_dossiers_passes_the_irregular_supplement_filter(client, stand_in, as_role):
    stand_in.answer("list-dossiers", PAGE)
    response = await client.get("/api/v1/dossiers", headers=as_role("inspector"),
                                params={"irregular_supplement": "true"})
    assert response.status_code == 200
    [request] = stand_in.requests_to("list-dossiers")
    assert request.body["irregular_supplement"] is True
    bad = await client.get("/api/v1/dossiers", headers=as_role("inspector"),
                           params={"irregular_supplement": "perhaps"})
    assert bad.status_code == 422


async def test_dossier_stats_sends_agency_from_and_to(client, stand_in, as_role):
    params = {"agency": "SO-XD", "from": "2024-01-01", "to": "2024-03-31"}
    response = await client.get("/api/v1/dossier-stats", params=params,
                                headers=as_role("officer", "SO-XD"))
    assert response.status_code == 200
    [request] = stand_in.requests_to("dossier-stats")
    assert request.body == {**params, "method": "form"}  # the report form's clock by default


async def test_dossier_stats_sends_the_method(client, stand_in, as_role):
    params = {"agency": "SO-XD", "from": "2024-01-01", "to": "2024-03-31", "method": "766"}
    response = await client.get("/api/v1/dossier-stats", params=params,
                                headers=as_role("inspector"))
    assert response.status_code == 200
    [request] = stand_in.requests_to("dossier-stats")
    assert request.body == params
    bad = await client.get("/api/v1/dossier-stats", params={**params, "method": "II.06b"},
                           headers=as_role("inspector"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "method"


async def test_reference_lists_send_their_filters(client, stand_in, as_role):
    admin = as_role("admin")
    await client.get("/api/v1/agencies", params={"limit": 500}, headers=admin)
    await client.get("/api/v1/procedures", params={"agency": "SO-XD", "cursor": "x"},
                     headers=admin)
    assert stand_in.requests_to("list-agencies")[0].body == {"limit": 500, "cursor": None}
    assert stand_in.requests_to("list-procedures")[0].body == {"agency": "SO-XD", "limit": 50,
                                                               "cursor": "x"}


async def test_get_dossier_targets_it_and_answers_the_services_problem(client, stand_in, as_role):
    stand_in.answer("get-dossier", Reply(ok=False, problem={"title": "Not found", "kind": "not_found",
                                                            "detail": "no dossier D-9"}))
    response = await client.get("/api/v1/dossiers/D-9", headers=as_role("officer", "SO-XD"))
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    [request] = stand_in.requests_to("get-dossier")
    assert request.target == "D-9" and request.meta.principal.agency == "SO-XD"


async def test_min_position_is_passed_through_for_read_your_writes(client, stand_in, as_role):
    response = await client.get("/api/v1/dossiers/D-1",
                                headers={**as_role("admin"), "X-Min-Position": "42"})
    assert response.status_code == 200
    assert stand_in.requests_to("get-dossier")[0].min_position == 42
    await client.get("/api/v1/dossiers", headers=as_role("admin"))
    assert stand_in.requests_to("list-dossiers")[0].min_position is None


async def test_a_bad_min_position_is_400(client, stand_in, as_role):
    for value in ("soon", "-1", "4.5"):
        response = await client.get("/api/v1/agencies",
                                    headers={**as_role("admin"), "X-Min-Position": value})
        assert response.status_code == 400, value
        assert response.json()["errors"][0]["field"] == "X-Min-Position"
    assert stand_in.received == []
