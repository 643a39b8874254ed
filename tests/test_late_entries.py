"""Late entries through the REST API: an officer acts in the present; the province may enter the
past, and every view an inspector reads says so (issue 14, item 1)."""

from datetime import datetime, timedelta

from api_steps import act, agency_with_procedure, receive

from cchc.contracts.localtime import LOCAL_TZ


def moment(**ago: float) -> str:
    return (datetime.now(LOCAL_TZ) - timedelta(**ago)).isoformat(timespec="seconds")


def problem_fields(answer) -> list[str]:  # type: ignore[no-untyped-def]
    return [error["field"] for error in answer.json().get("errors", [])]


async def test_an_officers_backdated_receipt_is_refused_and_no_dossier_is_written(stack_api):
    agency, procedure = await agency_with_procedure(stack_api.admin)
    officer = stack_api.as_("officer", agency)

    refused = await receive(officer, procedure, moment(days=30))
    assert refused.status_code == 422, refused.text
    assert problem_fields(refused) == ["received_at"]
    assert "24 hours" in refused.json()["detail"]

    timely = await receive(officer, procedure, moment(hours=2))
    assert timely.status_code == 201, timely.text
    listed = (await officer.get("/api/v1/dossiers", params={"agency": agency}, headers={
        "X-Min-Position": timely.headers["X-Event-Position"]})).json()["items"]
    assert [d["id"] for d in listed] == [timely.json()["id"]]
    assert listed[0]["late_entry"] is None and timely.json()["late_entry"] is None


async def test_an_officers_resolution_ten_days_back_is_refused_and_changes_nothing(stack_api):
    agency, procedure = await agency_with_procedure(stack_api.admin, processing_days=1)
    officer = stack_api.as_("officer", agency)
    received = await receive(officer, procedure, moment(hours=1))
    dossier = received.json()

    backdated = await act(officer, dossier["id"], "resolution",
                          {"resolved_at": moment(days=10), "outcome": "approved"})
    assert backdated.status_code == 422, backdated.text
    assert problem_fields(backdated) == ["resolved_at"]
    future = await act(officer, dossier["id"], "resolution",
                       {"resolved_at": moment(hours=-2), "outcome": "approved"})
    assert future.status_code == 422 and problem_fields(future) == ["resolved_at"]

    detail = (await officer.get(f"/api/v1/dossiers/{dossier['id']}", headers={
        "X-Min-Position": received.headers["X-Event-Position"]})).json()
    assert detail["status"] == "in_progress" and detail["version"] == 1
    audit = (await stack_api.as_("inspector").get(f"/api/v1/audit/dossiers/{dossier['id']}")).json()
    assert audit["events"] == 1 and audit["late_entries"] == []

    now = await act(officer, dossier["id"], "resolution",
                    {"resolved_at": moment(minutes=1), "outcome": "approved"})
    assert now.status_code == 200, now.text


async def test_an_admins_late_entry_is_marked_in_history_audit_list_and_statistics(stack_api):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    received = await admin.post("/api/v1/dossiers", json={
        "procedure": procedure, "channel": "direct", "received_at": "2023-03-06T09:00:00+07:00",
        "applicant": {"name": "Trần Thị Bình"},
        "late_entry_reason": "nhập lại từ sổ tiếp nhận giấy",
    })
    assert received.status_code == 201, received.text
    dossier = received.json()
    resolved = await act(admin, dossier["id"], "resolution",
                         {"resolved_at": "2023-03-08T15:00:00+07:00", "outcome": "approved"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["late_entry"] == {"events": 2, "reason": "nhập lại từ sổ tiếp nhận giấy"}
    seen = {"X-Min-Position": resolved.headers["X-Event-Position"]}

    detail = (await admin.get(f"/api/v1/dossiers/{dossier['id']}", headers=seen)).json()
    assert detail["late_entry"] == {"events": 2, "reason": "nhập lại từ sổ tiếp nhận giấy"}
    listed = (await admin.get("/api/v1/dossiers", params={"agency": agency}, headers=seen)).json()
    assert listed["items"][0]["late_entry"] == detail["late_entry"]
    marks = [e.get("late_entry") for e in detail["history"]]
    assert marks == [{"window_hours": 24.0, "reason": "nhập lại từ sổ tiếp nhận giấy"},
                     {"window_hours": 24.0, "reason": ""}]

    audit = (await stack_api.as_("inspector").get(f"/api/v1/audit/dossiers/{dossier['id']}")).json()
    assert audit["valid"] is True
    assert [(e["version"], e["type"], e["actor"]) for e in audit["late_entries"]] == [
        (1, "DossierReceived", "admin-all"), (2, "DossierResolved", "admin-all")]

    march = (await admin.get("/api/v1/dossier-stats", headers=seen, params={
        "agency": agency, "from": "2023-03-01", "to": "2023-03-31"})).json()
    assert march["late_entries"] == 2 and march["resolved"]["early"] == 1
    april = (await admin.get("/api/v1/dossier-stats", headers=seen, params={
        "agency": agency, "from": "2023-04-01", "to": "2023-04-30"})).json()
    assert april["late_entries"] == 0
    resolution_day = (await admin.get("/api/v1/dossier-stats", headers=seen, params={
        "agency": agency, "from": "2023-03-08", "to": "2023-03-08"})).json()
    assert resolution_day["late_entries"] == 1


async def test_home_affairs_may_enter_late_but_nobody_enters_the_future(stack_api):
    agency, procedure = await agency_with_procedure(stack_api.admin)
    home_affairs = stack_api.as_("home_affairs")
    late = await receive(home_affairs, procedure, moment(days=3))
    assert late.status_code == 201, late.text
    future = await receive(stack_api.admin, procedure, moment(hours=-1))
    assert future.status_code == 422 and problem_fields(future) == ["received_at"]
