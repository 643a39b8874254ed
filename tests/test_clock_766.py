"""Decision 766's clock beside the report form's, through the REST API of the running stack.

One agency, a procedure of 3 working days, five dossiers received on Monday 11/7/2022 09:00
(the form's due date: Thursday 14/7). July 2022 has no public holiday.
"""

from api_steps import act, agency_with_procedure, receive

RECEIVED = "2022-07-11T09:00:00+07:00"


async def dossier_with(client, procedure: str, *steps: tuple[str, dict]) -> list[dict]:
    """Receive, then each (action, body); the answers, in order, each with its log position."""
    answer = await receive(client, procedure, RECEIVED, channel="direct")
    assert answer.status_code == 201, answer.text
    answers = [{**answer.json(), "position": int(answer.headers["X-Event-Position"])}]
    for action, body in steps:
        answer = await act(client, answers[0]["id"], action, body)
        assert answer.status_code == 200, answer.text
        answers.append({**answer.json(), "position": int(answer.headers["X-Event-Position"])})
    return answers


def request(on: str) -> tuple[str, dict]:
    return "supplement-request", {"requested_at": f"{on}T10:00:00+07:00", "reason": "thiếu tờ khai"}


def supplement(on: str) -> tuple[str, dict]:
    return "supplement", {"supplemented_at": f"{on}T09:00:00+07:00"}


def resolve(on: str) -> tuple[str, dict]:
    return "resolution", {"resolved_at": f"{on}T10:00:00+07:00", "outcome": "approved"}


async def test_both_clocks_judge_each_dossier_and_count_the_form(stack_api):
    # The commands are an admin's: business times of 2022 are history (late entries).
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    two_requests = await dossier_with(
        admin, procedure, request("2022-07-12"), supplement("2022-07-13"),
        request("2022-07-14"), supplement("2022-07-15"), resolve("2022-07-19"))
    subtracted = await dossier_with(
        admin, procedure, request("2022-07-13"), supplement("2022-07-14"), resolve("2022-07-18"))
    irregular = await dossier_with(admin, procedure, request("2022-07-15"))
    no_supplement = await dossier_with(admin, procedure, resolve("2022-07-13"))
    same_day = await dossier_with(
        admin, procedure, ("supplement-request", {"requested_at": "2022-07-11T15:00:00+07:00",
                                                  "reason": "thiếu ảnh"}),
        supplement("2022-07-13"), resolve("2022-07-18"))

    # Two supplementation requests: early by the form (restarted to 20/7), late by 766.
    resolved = two_requests[-1]
    assert resolved["due_at"].startswith("2022-07-20T17:00")
    assert (resolved["timeliness"], resolved["timeliness_766"]) == ("early", "late")
    assert resolved["supplement_requests"] == 2 and resolved["irregular_supplement"] is False
    # One request after 2 working days: 766 subtracts the 12/7–14/7 stop, 1 day left: due 15/7.
    assert subtracted[2]["due_at"].startswith("2022-07-19T17:00")
    assert subtracted[2]["due_at_766"].startswith("2022-07-15T17:00")
    assert (subtracted[-1]["timeliness"], subtracted[-1]["timeliness_766"]) == ("early", "late")
    # A request on the receipt day uses nothing: both clocks due 18/7, both on time.
    assert same_day[2]["due_at"] == same_day[2]["due_at_766"]
    assert (same_day[-1]["timeliness"], same_day[-1]["timeliness_766"]) == ("on_time", "on_time")
    assert (no_supplement[-1]["timeliness"], no_supplement[-1]["timeliness_766"]) == (
        "early", "early")
    # Requested on Friday 15/7, the 4th working day after receipt and after the due date.
    assert irregular[-1]["irregular_supplement"] is True
    assert irregular[-1]["status"] == "awaiting_supplement"

    inspector = stack_api.as_("inspector")
    last = max(d[-1]["position"] for d in
               (two_requests, subtracted, irregular, no_supplement, same_day))
    caught_up = {"X-Min-Position": str(last)}
    detail = (await inspector.get(f"/api/v1/dossiers/{two_requests[0]['id']}",
                                  headers=caught_up)).json()
    assert detail["timeliness"] == "early" and detail["timeliness_766"] == "late"
    assert detail["supplement_requests"] == 2

    period = {"agency": agency, "from": "2022-07-01", "to": "2022-07-31"}
    form = (await inspector.get("/api/v1/dossier-stats", params=period, headers=caught_up)).json()
    assert form["method"] == "form"
    assert form["received"]["total"] == 5
    assert form["resolved"] == {"total": 4, "early": 3, "on_time": 1, "late": 0}
    # Awaiting its supplement, the form's clock is stopped: not due.
    assert form["in_progress"] == {"total": 1, "not_due": 1, "overdue": 0}
    assert form["on_time_rate"] == 1.0
    explicit = (await inspector.get("/api/v1/dossier-stats", params={**period, "method": "form"},
                                    headers=caught_up)).json()
    assert explicit == form

    by_766 = (await inspector.get("/api/v1/dossier-stats", params={**period, "method": "766"},
                                  headers=caught_up)).json()
    assert by_766["method"] == "766"
    assert by_766["received"] == form["received"] and by_766["withdrawn"] == form["withdrawn"]
    assert by_766["resolved"] == {"total": 4, "early": 1, "on_time": 1, "late": 2}
    # Requested after its due date: by 766 the request is its end, and it was already late.
    assert by_766["in_progress"] == {"total": 1, "not_due": 0, "overdue": 1}
    assert by_766["on_time_rate"] == 0.5
    # Without an agency: every readable agency summed, each judged by the same clock.
    province = (await inspector.get("/api/v1/dossier-stats", headers=caught_up, params={
        "from": "2022-07-01", "to": "2022-07-31", "method": "766"})).json()
    assert province["by_agency"][agency]["resolved"] == by_766["resolved"]

    bad = await inspector.get("/api/v1/dossier-stats", params={**period, "method": "thang"})
    assert bad.status_code == 422

    # The irregular request is listed for inspectors (and for the agency's own officers).
    for reader in (inspector, stack_api.as_("home_affairs"), stack_api.as_("officer", agency)):
        listed = (await reader.get("/api/v1/dossiers", headers=caught_up, params={
            "agency": agency, "irregular_supplement": "true"})).json()
        assert [d["id"] for d in listed["items"]] == [irregular[0]["id"]]
        assert listed["items"][0]["irregular_supplement"] is True
    regular = (await inspector.get("/api/v1/dossiers", headers=caught_up, params={
        "agency": agency, "irregular_supplement": "false"})).json()
    assert len(regular["items"]) == 4

