"""The real case of DOMAIN.md replayed through the REST API, and the agency report checked figure
by figure, as JSON and as the Vietnamese page.

A Department of Information and Communications reported at a PAR inspection on 15/7/2022: PAR
Index 2021 of 93.8 points, 12th of 20 departments; SIPAS 2021 of 97.99, 7th of 20; 35 of 46
plan tasks of 2022 completed; 44 procedures published; since January, 49 dossiers received, 47
resolved before or on time, 2 in progress and not yet due, none overdue. Facts dated after
15/7/2022 are recorded too, and must not show in that report.
"""

from datetime import date, timedelta

import holidays
from api_steps import unique

AS_OF = "2022-07-15"
PAR_OTHERS = [99.1, 98.5, 97.2, 96.6, 96.6, 95.9, 95.3, 94.8, 94.5, 94.2, 94.0,  # 11 above
              93.1, 92.7, 91.8, 90.5, 89.9, 88.4, 87.2, 85.6]
SIPAS_OTHERS = [99.5, 99.2, 98.9, 98.7, 98.4, 98.1,  # 6 above
                97.5, 97.3, 96.8, 96.8, 96.1, 95.7, 95.0, 94.4, 93.9, 93.2, 92.6, 91.0, 90.3]
HOLIDAYS_2022 = holidays.VN(years=2022)


def working_days(start: date, count: int) -> list[date]:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5 and day not in HOLIDAYS_2022:
            days.append(day)
        day += timedelta(days=1)
    return days


async def ok(answer, status: int = 200):  # type: ignore[no-untyped-def]
    assert answer.status_code == status, answer.text
    return answer


async def test_the_department_report_of_15_july_2022(stack_api):
    admin, api = stack_api.admin, stack_api
    agency = unique("STTTT")
    answer = await admin.post("/api/v1/agencies", json={
        "code": agency, "name": "Sở Thông tin và Truyền thông", "group": "department"})
    await ok(answer, 201)
    officer = api.as_("officer", agency)
    # The department's 2022 is entered after the fact: by the province, as late entries.
    recorder = api.as_("home_affairs")

    # 44 procedures published.
    procedures = []
    for i in range(44):
        code = f"1.{i:06d}.000.00.00.{agency}"
        await ok(await officer.post("/api/v1/procedures", json={
            "code": code, "name": f"Thủ tục lĩnh vực viễn thông số {i + 1}", "agency": agency,
            "field": "Viễn thông và Internet", "processing_days": (5, 10, 15)[i % 3],
            "online_level": ("full", "partial", "none")[i % 3],
            "published_on": f"2021-{1 + i % 12:02d}-15"}), 201)
        procedures.append(code)
    # One more, published after the report's date: not among the 44.
    await ok(await officer.post("/api/v1/procedures", json={
        "code": f"1.999999.000.00.00.{agency}", "name": "Thủ tục công bố sau", "agency": agency,
        "field": "Viễn thông và Internet", "processing_days": 5, "online_level": "full",
        "published_on": "2022-08-01"}), 201)

    # Dossiers: 47 resolved early or on time, 2 in progress not yet due on 15/7; one of 2021
    # closed in 2021 and one received in August do not belong to the period.
    async def receive(day: date, i: int) -> dict:
        answer = await recorder.post("/api/v1/dossiers", json={
            "procedure": procedures[i % 44], "channel": ("online", "direct", "postal")[i % 3],
            "received_at": f"{day.isoformat()}T09:00:00+07:00",
            "applicant": {"name": f"Công ty TNHH Viễn thông {i}"}})
        return (await ok(answer, 201)).json()

    async def resolve(dossier: dict, when: str) -> int:
        answer = await recorder.post(f"/api/v1/dossiers/{dossier['id']}/resolution",
                                    json={"resolved_at": when, "outcome": "approved"})
        return int((await ok(answer)).headers["X-Event-Position"])

    timeliness = []
    for i, day in enumerate(working_days(date(2022, 1, 10), 47)):
        dossier = await receive(day, i)
        # Every fifth on its due date (on time), the others the day they came in (early).
        when = (dossier["due_at"][:10] + "T10:00:00+07:00" if i % 5 == 0
                else f"{day.isoformat()}T15:00:00+07:00")
        await resolve(dossier, when)
        timeliness.append("on_time" if i % 5 == 0 else "early")
    for day in (date(2022, 7, 13), date(2022, 7, 14)):
        await receive(day, 10)  # 10 working days: due late in July
    old = await receive(date(2021, 12, 20), 1)
    await resolve(old, "2021-12-21T10:00:00+07:00")
    august = await receive(date(2022, 8, 1), 2)
    dossier_position = await resolve(august, "2022-08-02T10:00:00+07:00")

    # Plan 2022: 46 tasks by 15/7, 35 completed by then; two more completed and one more task
    # added in August.
    plan = (await ok(await recorder.post("/api/v1/plans", json={
        "agency": agency, "year": 2022, "title": "Kế hoạch cải cách hành chính năm 2022",
        "issued_at": "2022-01-05T08:00:00+07:00"}), 201)).json()
    areas = ["direction", "institutions", "procedures", "apparatus", "civil_service",
             "public_finance", "digital_government"]
    tasks = []
    for i in range(47):
        added = "2022-08-05T08:00:00+07:00" if i == 46 else "2022-01-10T08:00:00+07:00"
        task = (await ok(await recorder.post(f"/api/v1/plans/{plan['id']}/tasks", json={
            "title": f"Nhiệm vụ CCHC số {i + 1}", "area": areas[i % 7], "due_date": "2022-12-31",
            "owner": "Văn phòng Sở", "added_at": added}), 201)).json()
        tasks.append(task["id"])
    completions = working_days(date(2022, 2, 14), 35)
    for task_id, day in zip(tasks[:35], completions, strict=True):
        await ok(await recorder.post(f"/api/v1/tasks/{task_id}/completion", json={
            "completed_at": f"{day.isoformat()}T16:00:00+07:00",
            "evidence": "Báo cáo kết quả thực hiện"}))
    for task_id in tasks[35:37]:
        answer = await ok(await recorder.post(f"/api/v1/tasks/{task_id}/completion", json={
            "completed_at": "2022-08-10T16:00:00+07:00", "evidence": "Báo cáo"}))
    planning_position = answer.headers["X-Event-Position"]

    # Published indexes of 2021 for 20 departments; PAR 2022 is published only in 2023.
    home_affairs = api.as_("home_affairs")

    async def result(index: str, year: int, code: str, score: float, published: str) -> str:
        answer = await home_affairs.post("/api/v1/index-results", json={
            "index": index, "year": year, "agency": code, "score": score, "group": "department",
            "published_on": published})
        return (await ok(answer, 201)).headers["X-Event-Position"]

    others = [unique("SO") for _ in range(19)]
    await result("PAR", 2021, agency, 93.8, "2022-04-20")
    await result("SIPAS", 2021, agency, 97.99, "2022-05-06")
    for code, par, sipas in zip(others, PAR_OTHERS, SIPAS_OTHERS, strict=True):
        await result("PAR", 2021, code, par, "2022-04-20")
        await result("SIPAS", 2021, code, sipas, "2022-05-06")
    scoring_position = await result("PAR", 2022, agency, 95.2, "2023-05-10")

    # Read your writes on each service before the report composes them.
    await ok(await officer.get("/api/v1/dossier-stats", params={
        "agency": agency, "from": "2022-01-01", "to": AS_OF},
        headers={"X-Min-Position": str(dossier_position)}))
    await ok(await officer.get(f"/api/v1/plans/{plan['id']}/progress",
                               headers={"X-Min-Position": planning_position}))
    ranking = (await ok(await officer.get("/api/v1/rankings", params={
        "index": "PAR", "year": 2021, "group": "department", "as_of": AS_OF},
        headers={"X-Min-Position": scoring_position}))).json()
    assert ranking["of"] == 20
    assert [i["rank"] for i in ranking["items"]][:6] == [1, 2, 3, 4, 4, 6]

    params = {"agency": agency, "year": 2022, "as_of": AS_OF}
    report = (await ok(await officer.get("/api/v1/reports/agency", params=params))).json()
    assert (report["agency"], report["year"], report["as_of"]) == (agency, 2022, AS_OF)
    assert report["agency_name"] == "Sở Thông tin và Truyền thông"
    assert (report["plan"]["total"], report["plan"]["completed"]) == (46, 35)
    assert report["procedures_published"] == 44
    stats = report["dossiers"]
    assert (stats["from"], stats["to"]) == ("2022-01-01", AS_OF)
    assert stats["received"]["total"] == 49 and stats["received"]["carried_over"] == 0
    assert stats["resolved"] == {"total": 47, "early": timeliness.count("early"),
                                 "on_time": timeliness.count("on_time"), "late": 0}
    assert stats["in_progress"] == {"total": 2, "not_due": 2, "overdue": 0}
    assert stats["withdrawn"] == 0 and stats["on_time_rate"] == 1.0
    assert report["indexes"] == [
        {"index": "PAR", "year": 2021, "score": 93.8, "rank": 12, "of": 20, "group": "department"},
        {"index": "SIPAS", "year": 2021, "score": 97.99, "rank": 7, "of": 20,
         "group": "department"},
    ]

    page = await ok(await officer.get("/api/v1/reports/agency", params=params,
                                      headers={"Accept": "text/html"}))
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    for sentence in (
        "Sở Thông tin và Truyền thông",
        "Báo cáo kết quả thực hiện công tác cải cách hành chính năm 2022",
        "Số liệu tính đến ngày 15/7/2022",
        "Chỉ số CCHC năm 2021 đạt 93,8 điểm, xếp thứ 12/20",
        "Chỉ số SIPAS năm 2021 đạt 97,99%, xếp thứ 7/20",
        "hoàn thành 35/46 nhiệm vụ",
        "đã công bố 44 thủ tục hành chính",
        ("tiếp nhận 49 hồ sơ; đã giải quyết 47 hồ sơ trước và đúng hạn; 2 hồ sơ đang giải quyết "
        "chưa đến hạn, không có hồ sơ quá hạn"),
    ):
        assert sentence in html, sentence

    # A year later the same agency's report shows what was published since.
    later = (await ok(await officer.get("/api/v1/reports/agency", params={
        "agency": agency, "year": 2022, "as_of": "2023-06-01"}))).json()
    assert (later["plan"]["total"], later["plan"]["completed"]) == (47, 37)
    assert later["dossiers"]["received"]["total"] == 50
    assert later["procedures_published"] == 45  # the one of 1/8/2022 too
    assert later["indexes"][0] == {"index": "PAR", "year": 2022, "score": 95.2, "rank": 1,
                                   "of": 1, "group": "department"}

    # An officer of another agency reads no one else's report; an inspector reads any.
    other = api.as_("officer", others[0])
    assert (await other.get("/api/v1/reports/agency", params=params)).status_code == 403
    assert (await api.as_("inspector").get("/api/v1/reports/agency", params=params)).status_code == 200
    early = await officer.get("/api/v1/reports/agency", params={**params, "as_of": "2021-12-31"})
    assert early.status_code == 422 and early.json()["errors"][0]["field"] == "as_of"
