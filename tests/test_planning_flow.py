"""A plan's year through the REST API of the running stack: tasks, progress as of a date,
an inspection whose shortcoming adds a remediation task."""

import asyncio

from api_steps import register_agency, unique


async def test_plan_progress_as_of_dates_and_remediation_through_the_api(stack_api):
    admin = stack_api.admin
    agency = unique("S")
    await register_agency(admin, agency)
    officer = stack_api.as_("officer", agency)
    # The year 2022 is entered after the fact: by the province, as late entries (DOMAIN.md).
    recorder = stack_api.as_("home_affairs")

    plan = await recorder.post("/api/v1/plans", json={
        "agency": agency, "year": 2022, "title": "Kế hoạch CCHC năm 2022",
        "issued_at": "2022-01-05T08:00:00+07:00"})
    assert plan.status_code == 201, plan.text
    plan_id = plan.json()["id"]
    areas = ["direction", "procedures", "digital_government", "civil_service"]
    task_ids = []
    for i, area in enumerate(areas):
        task = await recorder.post(f"/api/v1/plans/{plan_id}/tasks", json={
            "title": f"Nhiệm vụ {i + 1}", "area": area, "due_date": "2022-06-30",
            "owner": "Văn phòng Sở", "added_at": "2022-01-10T08:00:00+07:00"})
        assert task.status_code == 201, task.text
        task_ids.append(task.json()["id"])
    backdated = await officer.post(f"/api/v1/tasks/{task_ids[0]}/completion", json={
        "completed_at": "2022-03-01T10:00:00+07:00", "evidence": "Báo cáo số 12/BC-STTTT"})
    assert backdated.status_code == 422 and backdated.json()["errors"][0]["field"] == "completed_at"
    for task_id, when in zip(task_ids[:2], ["2022-03-01", "2022-07-05"], strict=True):
        done = await recorder.post(f"/api/v1/tasks/{task_id}/completion", json={
            "completed_at": f"{when}T10:00:00+07:00", "evidence": "Báo cáo số 12/BC-STTTT"})
        assert done.status_code == 200, done.text
    cancelled = await recorder.post(f"/api/v1/tasks/{task_ids[3]}/cancellation", json={
        "cancelled_at": "2022-02-01T10:00:00+07:00", "reason": "Không còn phù hợp"})
    position = cancelled.headers["X-Event-Position"]

    async def progress(as_of: str) -> dict:
        answer = await officer.get(f"/api/v1/plans/{plan_id}/progress", params={"as_of": as_of},
                                   headers={"X-Min-Position": position})
        assert answer.status_code == 200, answer.text
        return answer.json()

    mid_july = await progress("2022-07-15")
    assert (mid_july["total"], mid_july["completed"], mid_july["cancelled"]) == (4, 2, 1)
    assert (mid_july["completed_on_time"], mid_july["completed_late"]) == (1, 1)
    assert mid_july["overdue"] == 1 and mid_july["completion_rate"] == round(2 / 3, 4)
    april = await progress("2022-04-01")
    assert (april["completed"], april["in_progress"], april["overdue"]) == (1, 2, 0)

    other = stack_api.as_("officer", unique("X"))
    assert (await other.get(f"/api/v1/plans/{plan_id}/progress")).status_code == 403
    assert (await stack_api.as_("inspector").post("/api/v1/plans", json={
        "agency": agency, "year": 2023, "title": "x"})).status_code == 403

    inspection = await admin.post("/api/v1/inspections", json={
        "agency": agency, "inspected_on": "2022-07-15", "team_lead": "Trưởng đoàn Sở Nội vụ",
        "scope": "Kiểm tra công tác CCHC năm 2022"})
    assert inspection.status_code == 201, inspection.text
    finding = await admin.post(f"/api/v1/inspections/{inspection.json()['id']}/findings", json={
        "kind": "shortcoming", "text": "Chưa công khai đầy đủ TTHC",
        "remediation": {"title": "Công khai đầy đủ TTHC", "area": "procedures",
                        "due_date": "2022-09-30"}})
    assert finding.status_code == 201, finding.text
    remediation_task = finding.json()["remediation_task_id"]
    for _ in range(100):  # the process manager reacts to the event, not to a call
        answer = await officer.get(f"/api/v1/tasks/{remediation_task}")
        if answer.status_code == 200:
            break
        await asyncio.sleep(0.1)
    assert answer.status_code == 200, answer.text
    assert answer.json()["plan_id"] == plan_id and answer.json()["area"] == "procedures"
