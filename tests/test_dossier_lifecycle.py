"""A dossier's life through the REST API of the running stack, on SQLite and on PostgreSQL."""

import asyncio
from datetime import datetime

from api_steps import act, agency_with_procedure, receive

from cchc.contracts.localtime import LOCAL_TZ


async def test_receive_and_resolve_shows_in_detail_stats_and_audit(stack_api):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    officer = stack_api.as_("officer", agency)
    # July 2022 is entered after the fact (DOMAIN.md: late entries): by home_affairs.
    recorder = stack_api.as_("home_affairs")

    received = await receive(recorder, procedure, "2022-07-11T09:30:00+07:00")
    assert received.status_code == 201, received.text
    dossier = received.json()
    assert dossier["agency"] == agency and dossier["status"] == "in_progress"
    assert dossier["due_at"].startswith("2022-07-14T17:00:00")
    assert received.headers["ETag"] == '"1"'

    resolved = await act(recorder, dossier["id"], "resolution",
                         {"resolved_at": "2022-07-13T10:00:00+07:00", "outcome": "approved"},
                         **{"If-Match": '"1"'})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["timeliness"] == "early"
    position = resolved.headers["X-Event-Position"]

    read_your_writes = {"X-Min-Position": position}
    detail = (await officer.get(f"/api/v1/dossiers/{dossier['id']}", headers=read_your_writes)).json()
    assert detail["status"] == "resolved" and detail["version"] == 2
    assert [e["type"] for e in detail["history"]] == ["DossierReceived", "DossierResolved"]

    stats = (await officer.get(
        "/api/v1/dossier-stats", params={"agency": agency, "from": "2022-07-01", "to": "2022-07-15"},
        headers=read_your_writes,
    )).json()
    assert stats["received"] == {"total": 1, "online": 1, "direct": 0, "postal": 0, "carried_over": 0}
    assert stats["resolved"] == {"total": 1, "early": 1, "on_time": 0, "late": 0}
    assert stats["on_time_rate"] == 1.0

    audit = (await stack_api.as_("inspector").get(f"/api/v1/audit/dossiers/{dossier['id']}")).json()
    assert audit["valid"] is True and audit["events"] == 2


async def test_due_dates_skip_tet_2022_and_the_observed_april_may_days(stack_api):
    admin = stack_api.admin
    _, procedure = await agency_with_procedure(admin, processing_days=3)
    before_tet = (await receive(admin, procedure, "2022-01-28T10:00:00+07:00")).json()
    assert before_tet["due_at"].startswith("2022-02-09T17:00:00")  # 31/1–4/2 off
    before_may = (await receive(admin, procedure, "2022-04-29T10:00:00+07:00")).json()
    assert before_may["due_at"].startswith("2022-05-06T17:00:00")  # 2/5 and 3/5 observed off
    friday_evening = (await receive(admin, procedure, "2022-07-15T18:30:00+07:00")).json()
    assert friday_evening["receipt_day"] == "2022-07-18"
    assert friday_evening["due_at"].startswith("2022-07-21T17:00:00")


async def test_supplementation_restarts_the_clock_and_an_apology_does_not_save_a_late_dossier(stack_api):
    admin = stack_api.admin
    _, procedure = await agency_with_procedure(admin, processing_days=2)
    dossier = (await receive(admin, procedure, "2022-07-04T09:00:00+07:00")).json()
    assert dossier["due_at"].startswith("2022-07-06")
    stopped = await act(admin, dossier["id"], "supplement-request",
                        {"requested_at": "2022-07-05T09:00:00+07:00", "reason": "thiếu bản sao"})
    assert stopped.json()["status"] == "awaiting_supplement" and stopped.json()["due_at"] is None
    restarted = await act(admin, dossier["id"], "supplement",
                          {"supplemented_at": "2022-07-08T16:00:00+07:00"})
    assert restarted.json()["due_at"].startswith("2022-07-12T17:00:00")  # full 2 days again
    apology = await act(admin, dossier["id"], "extension", {
        "extended_at": "2022-07-12T08:00:00+07:00", "new_due_at": "2022-07-15T17:00:00+07:00",
        "reason": "cần xác minh thêm"})
    assert apology.json()["appointment_at"].startswith("2022-07-15")
    assert apology.json()["due_at"].startswith("2022-07-12")
    resolved = await act(admin, dossier["id"], "resolution",
                         {"resolved_at": "2022-07-14T10:00:00+07:00", "outcome": "approved"})
    assert resolved.json()["timeliness"] == "late"


async def test_conflicting_concurrent_commands_exactly_one_wins(stack_api):
    admin = stack_api.admin
    _, procedure = await agency_with_procedure(admin)
    dossier = (await receive(admin, procedure, "2022-07-11T09:30:00+07:00")).json()

    async def resolve(i: int):
        return await act(admin, dossier["id"], "resolution",
                         {"resolved_at": f"2022-07-12T1{i}:00:00+07:00", "outcome": "approved"})

    answers = await asyncio.gather(*(resolve(i) for i in range(8)))
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] + [409] * 7, [a.text for a in answers]

    other = (await receive(admin, procedure, "2022-07-11T09:30:00+07:00")).json()

    async def withdraw_at_version_1(i: int):
        return await act(admin, other["id"], "withdrawal",
                         {"withdrawn_at": "2022-07-12T10:00:00+07:00", "reason": f"r{i}"},
                         **{"If-Match": '"1"'})

    answers = await asyncio.gather(*(withdraw_at_version_1(i) for i in range(6)))
    codes = sorted(a.status_code for a in answers)
    assert codes[0] == 200 and codes.count(200) == 1
    assert set(codes[1:]) <= {409, 412}


async def test_a_retried_idempotency_key_writes_once(stack_api):
    admin = stack_api.admin
    _, procedure = await agency_with_procedure(admin)
    key = {"Idempotency-Key": "phieu-tiep-nhan-0001"}
    first = await receive(admin, procedure, "2022-07-11T09:30:00+07:00", **key)
    again = await receive(admin, procedure, "2022-07-11T09:30:00+07:00", **key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    twins = await asyncio.gather(*(
        receive(admin, procedure, "2022-07-11T09:30:00+07:00", **{"Idempotency-Key": "k-twins"})
        for _ in range(4)
    ))
    assert len({t.json()["id"] for t in twins}) == 1
    dossier_id = twins[0].json()["id"]
    audit = (await admin.get(f"/api/v1/audit/dossiers/{dossier_id}")).json()
    assert audit["events"] == 1
    changed = await receive(admin, procedure, "2022-07-11T10:30:00+07:00", **key)
    assert changed.status_code == 409


async def test_an_officer_is_denied_another_agencys_dossier(stack_api):
    admin = stack_api.admin
    mine, _ = await agency_with_procedure(admin)
    theirs, their_procedure = await agency_with_procedure(admin)
    received = await receive(admin, their_procedure, "2022-07-11T09:30:00+07:00")
    dossier = received.json()
    officer = stack_api.as_("officer", mine)
    position = {"X-Min-Position": received.headers["X-Event-Position"]}
    assert (await officer.get(f"/api/v1/dossiers/{dossier['id']}", headers=position)).status_code == 403
    denied = await act(officer, dossier["id"], "resolution",
                       {"resolved_at": "2022-07-12T10:00:00+07:00", "outcome": "approved"})
    assert denied.status_code == 403
    assert (await receive(officer, their_procedure, "2022-07-11T09:30:00+07:00")).status_code == 403
    stats = await officer.get("/api/v1/dossier-stats",
                              params={"agency": theirs, "from": "2022-01-01", "to": "2022-12-31"})
    assert stats.status_code == 403


async def test_another_agencys_reuse_of_an_idempotency_key_gets_its_own_answer(stack_api):
    admin = stack_api.admin
    agency_a, procedure_a = await agency_with_procedure(admin)
    agency_b, _ = await agency_with_procedure(admin)
    officer_a = stack_api.as_("officer", agency_a)
    officer_b = stack_api.as_("officer", agency_b)
    key = {"Idempotency-Key": "phieu-0001"}

    now = datetime.now(LOCAL_TZ).isoformat(timespec="seconds")
    received = await receive(officer_a, procedure_a, now, **key)
    assert received.status_code == 201
    dossier = received.json()
    # B repeats A's request, key and body alike: the service judges B's own request.
    repeated = await receive(officer_b, procedure_a, now, **key)
    assert repeated.status_code == 403, repeated.text
    assert "Idempotent-Replayed" not in repeated.headers
    assert "Nguyễn" not in repeated.text and dossier["id"] not in repeated.text

    resolution = {"resolved_at": now, "outcome": "approved"}
    done = await act(officer_a, dossier["id"], "resolution", resolution, **{"Idempotency-Key": "k2"})
    assert done.status_code == 200
    reused = await act(officer_b, dossier["id"], "resolution", resolution, **{"Idempotency-Key": "k2"})
    assert reused.status_code == 403 and "Idempotent-Replayed" not in reused.headers
    again = await act(officer_a, dossier["id"], "resolution", resolution, **{"Idempotency-Key": "k2"})
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"


async def test_a_rejection_must_give_its_reason_which_the_history_keeps(stack_api):
    admin = stack_api.admin
    _, procedure = await agency_with_procedure(admin, processing_days=3)
    received = await receive(admin, procedure, "2022-07-11T09:30:00+07:00")
    dossier = received.json()
    refused = await act(admin, dossier["id"], "resolution",
                        {"resolved_at": "2022-07-12T10:00:00+07:00", "outcome": "rejected"})
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["reason"]
    unchanged = (await admin.get(f"/api/v1/dossiers/{dossier['id']}", headers={
        "X-Min-Position": received.headers["X-Event-Position"]})).json()
    assert unchanged["status"] == "in_progress" and unchanged["version"] == 1

    rejected = await act(admin, dossier["id"], "resolution",
                         {"resolved_at": "2022-07-12T10:00:00+07:00", "outcome": "rejected",
                          "reason": "Hồ sơ thiếu bản sao giấy phép kinh doanh"})
    assert rejected.status_code == 200, rejected.text
    detail = (await admin.get(f"/api/v1/dossiers/{dossier['id']}", headers={
        "X-Min-Position": rejected.headers["X-Event-Position"]})).json()
    resolution = detail["history"][-1]
    assert resolution["type"] == "DossierResolved"
    assert resolution["payload"]["reason"] == "Hồ sơ thiếu bản sao giấy phép kinh doanh"
