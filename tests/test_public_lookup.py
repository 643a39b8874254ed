"""The public lookup without a token: a dossier by its receipt code, the board of on-time rates,
the page /tra-cuu, a rate limit per client, and nothing else (issue 16, item 5)."""

import httpx
import pytest
from api_steps import act, agency_with_procedure, receive


@pytest.fixture
async def anonymous(stack_api):
    async with httpx.AsyncClient(base_url=stack_api.base_url, timeout=30) as client:
        yield client


async def test_a_citizen_follows_a_dossier_by_its_code_and_sees_no_one_s_details(
        stack_api, anonymous):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    received = await receive(admin, procedure, "2022-07-11T09:30:00+07:00")
    code = received.json()["receipt_code"]
    await admin.get(f"/api/v1/dossiers/{code}", headers={
        "X-Min-Position": received.headers["X-Event-Position"]})

    seen = await anonymous.get(f"/api/v1/public/dossiers/{code}")
    assert seen.status_code == 200, seen.text
    public = seen.json()
    assert public["receipt_code"] == code and public["status"] == "in_progress"
    assert public["applicant"] == "N***** V** A*"
    assert public["due_at"].startswith("2022-07-14T17:00") and public["result_returned"] is False
    assert public["agency_name"] == f"Sở thử nghiệm {agency}"
    assert "0912345678" not in seen.text and "Nguyễn" not in seen.text
    assert received.json()["id"] not in seen.text  # the internal id stays internal

    await act(admin, code, "resolution",
              {"resolved_at": "2022-07-13T10:00:00+07:00", "outcome": "approved"})
    returned = await act(admin, code, "result-return", {"returned_at": "2022-07-14T09:00:00+07:00"})
    assert returned.status_code == 200, returned.text
    await admin.get(f"/api/v1/dossiers/{code}", headers={
        "X-Min-Position": returned.headers["X-Event-Position"]})
    later = (await anonymous.get(f"/api/v1/public/dossiers/{code}")).json()
    assert (later["status"], later["outcome"], later["result_returned"]) == (
        "returned", "approved", True)

    assert (await anonymous.get(f"/api/v1/public/dossiers/{agency}-220711-9999")).status_code == 404
    assert (await anonymous.get(f"/api/v1/public/dossiers/{received.json()['id']}")
            ).status_code == 422  # an id is not a receipt code


async def test_the_board_shows_each_agency_s_on_time_rate_of_the_year(stack_api, anonymous):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    for day, resolved in (("2022-03-01", "2022-03-02"), ("2022-03-07", "2022-03-31")):
        dossier = (await receive(admin, procedure, f"{day}T09:00:00+07:00")).json()
        last = await act(admin, dossier["id"], "resolution",
                         {"resolved_at": f"{resolved}T10:00:00+07:00", "outcome": "approved"})
    await admin.get("/api/v1/dossiers", params={"agency": agency}, headers={
        "X-Min-Position": last.headers["X-Event-Position"]})
    board = (await anonymous.get("/api/v1/public/on-time-rates", params={"year": 2022})).json()
    assert board["year"] == 2022 and board["as_of"] == "2022-12-31"
    [item] = [i for i in board["items"] if i["agency"] == agency]
    assert (item["received"], item["resolved"], item["resolved_on_time"]) == (2, 2, 1)
    assert item["on_time_rate"] == 0.5 and item["agency_name"] == f"Sở thử nghiệm {agency}"
    assert (await anonymous.get("/api/v1/public/on-time-rates", params={"year": 2999})
            ).status_code == 422


async def test_nothing_else_answers_without_a_token(stack_api, anonymous):
    page = await anonymous.get("/tra-cuu", params={"ma": "STTTT-220711-0001"})
    assert page.status_code == 200 and "Tra cứu hồ sơ thủ tục hành chính" in page.text
    for path in ("/api/v1/dossiers", "/api/v1/dossiers/STTTT-220711-0001",
                 "/api/v1/dossiers/STTTT-220711-0001/receipt",
                 "/api/v1/dossier-stats?from=2022-01-01&to=2022-12-31",
                 "/api/v1/reports/agency?agency=STTTT&year=2022", "/api/v1/agencies",
                 "/api/v1/audit/dossiers/STTTT-220711-0001"):
        assert (await anonymous.get(path)).status_code == 401, path


async def test_a_client_asking_too_often_is_told_to_wait(stack_api, anonymous):
    # Last in this module: it uses up this client address's window (30 a minute).
    statuses = [(await anonymous.get("/api/v1/public/dossiers/STTTT-220711-0001")).status_code
                for _ in range(32)]
    assert 429 in statuses and set(statuses) <= {404, 429}
    refused = await anonymous.get("/api/v1/public/on-time-rates")
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    assert "too many" in refused.json()["detail"]
