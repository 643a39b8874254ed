"""The report forms as Excel workbooks: dossier-stats as Biểu II.06a and the agency report, read
back with openpyxl and checked figure by figure against the JSON answers of the same requests."""

from io import BytesIO

from openpyxl import load_workbook

from api_steps import act, receive, register_agency, unique
from cchc.gateway.report_anchor import anchor_footer_text

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PERIOD = "from=2022-07-01&to=2022-07-15"


def figures_of(stats: dict) -> list:
    """The form's columns (3) to (15) as the JSON says them."""
    r, s, p = stats["received"], stats["resolved"], stats["in_progress"]
    return [r["total"], r["online"], r["direct"] + r["postal"], r["carried_over"], s["total"],
            s["early"], s["on_time"], s["late"], p["total"], p["not_due"], p["overdue"],
            stats["withdrawn"], stats["on_time_rate"]]


def read_form(content: bytes, sheet_name: str = "Biểu II.06a") -> tuple[list[str], dict[str, list]]:
    """(header texts, {row name: figures (3)..(15)}) of an II.06a sheet, located by its
    numbering row "(1) (2) ... (15)"."""
    sheet = load_workbook(BytesIO(content))[sheet_name]
    rows = list(sheet.iter_rows(values_only=True))
    numbering = next(i for i, row in enumerate(rows) if row[0] == "(1)")
    assert [cell for cell in rows[numbering]] == [f"({n})" for n in range(1, 16)]
    texts = [cell for row in rows[:numbering] for cell in row if isinstance(cell, str)]
    body: dict[str, list] = {}
    for row in rows[numbering + 1:]:
        if row[1] is None:
            break
        body[row[1]] = list(row[2:15])
    return texts, body


async def _procedure(admin, agency: str, field: str) -> str:
    code = f"1.{unique('')}.000.00.00.{agency}"
    answer = await admin.post("/api/v1/procedures", json={
        "code": code, "name": f"Thủ tục {field}", "agency": agency, "field": field,
        "processing_days": 3, "online_level": "full",
        "published_on": "2022-01-10"})
    assert answer.status_code == 201, answer.text
    return code


async def _dossier(admin, procedure: str, received: str, channel: str = "online") -> str:
    answer = await receive(admin, procedure, f"{received}+07:00", channel)
    assert answer.status_code == 201, answer.text
    return answer.json()["id"]


async def _resolve(admin, dossier: str, resolved: str) -> None:
    answer = await act(admin, dossier, "resolution",
                       {"resolved_at": f"{resolved}+07:00", "outcome": "approved"})
    assert answer.status_code == 200, answer.text


async def _a_month_of_two_fields(admin, agency: str) -> dict[str, str]:
    """Received on Monday 4/7/2022 with 3 working days: due Thursday 7/7 at 17:00. The answer:
    the header that reads after the last of them."""
    telecom = await _procedure(admin, agency, "Viễn thông")
    post = await _procedure(admin, agency, "Bưu chính")
    carried = await _dossier(admin, telecom, "2022-06-27T09:00:00", "direct")
    await _resolve(admin, carried, "2022-07-04T10:00:00")  # late, carried over from June
    early = await _dossier(admin, telecom, "2022-07-04T09:00:00")
    await _resolve(admin, early, "2022-07-06T10:00:00")
    on_time = await _dossier(admin, post, "2022-07-04T09:00:00", "postal")
    await _resolve(admin, on_time, "2022-07-07T16:00:00")
    late = await _dossier(admin, post, "2022-07-04T09:00:00", "direct")
    await _resolve(admin, late, "2022-07-08T09:00:00")
    await _dossier(admin, telecom, "2022-07-05T09:00:00")  # open, overdue at the end of 15/7
    await _dossier(admin, post, "2022-07-14T09:00:00", "direct")  # open, due 19/7
    withdrawn = await _dossier(admin, telecom, "2022-07-05T09:00:00")
    answer = await act(admin, withdrawn, "withdrawal",
                       {"withdrawn_at": "2022-07-06T09:00:00+07:00", "reason": "rút"})
    assert answer.status_code == 200, answer.text
    return {"X-Min-Position": answer.headers["X-Event-Position"]}


async def test_one_agency_form_has_a_row_per_field_and_its_totals(stack_api):
    admin = stack_api.admin
    agency = unique("SXL")
    await register_agency(admin, agency)
    written = await _a_month_of_two_fields(admin, agency)
    officer = stack_api.as_("officer", agency)

    as_json = await officer.get(f"/api/v1/dossier-stats?agency={agency}&{PERIOD}&by=field",
                                headers=written)
    assert as_json.status_code == 200, as_json.text
    stats = as_json.json()
    assert set(stats["by_field"]) == {"Viễn thông", "Bưu chính"}
    assert stats["received"] == {"total": 7, "online": 3, "direct": 2, "postal": 1,
                                 "carried_over": 1}
    assert stats["resolved"] == {"total": 4, "early": 1, "on_time": 1, "late": 2}
    assert stats["in_progress"] == {"total": 2, "not_due": 1, "overdue": 1}
    assert stats["withdrawn"] == 1
    for column in range(13):  # the fields add up to the agency
        if column == 12:
            continue  # a rate does not add up
        assert sum(figures_of(f)[column] for f in stats["by_field"].values()) == \
            figures_of(stats)[column]

    workbook = await officer.get(f"/api/v1/dossier-stats?agency={agency}&{PERIOD}",
                                 headers={"Accept": XLSX})
    assert workbook.status_code == 200, workbook.text
    assert workbook.headers["content-type"] == XLSX
    assert "attachment" in workbook.headers["content-disposition"]
    texts, rows = read_form(workbook.content)
    assert f"Đơn vị báo cáo: Sở thử nghiệm {agency}" in texts
    assert "Biểu số II.06a/VPCP/KSTT" in texts
    assert "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH" in texts
    assert "Kỳ báo cáo: từ ngày 01/07/2022 đến ngày 15/07/2022" in texts
    assert "Lĩnh vực giải quyết" in texts
    assert rows == {**{name: figures_of(f) for name, f in stats["by_field"].items()},
                    "Tổng cộng": figures_of(stats)}
    # The 2022 dossiers were entered in 2026 by admin: late entries, noted under the form.
    assert stats["late_entries"] == sum(f["late_entries"] for f in stats["by_field"].values())
    assert stats["late_entries"] >= 7
    sheet = load_workbook(BytesIO(workbook.content))["Biểu II.06a"]
    notes = {row[0]: row[6] for row in sheet.iter_rows(values_only=True)
             if isinstance(row[0], str) and row[0].startswith("Số sự kiện")}
    assert notes == {"Số sự kiện trong kỳ được nhập muộn (sau thời hạn cập nhật):":
                     stats["late_entries"]}

    other = stack_api.as_("officer", unique("SOTHER"))
    refused = await other.get(f"/api/v1/dossier-stats?agency={agency}&{PERIOD}",
                              headers={"Accept": XLSX})
    assert refused.status_code == 403


async def test_the_province_form_has_a_row_per_agency(stack_api):
    admin = stack_api.admin
    first, second = unique("SXA"), unique("SXB")
    for agency in (first, second):
        await register_agency(admin, agency)
        written = await _a_month_of_two_fields(admin, agency)
    inspector = stack_api.as_("inspector")

    stats = (await inspector.get(f"/api/v1/dossier-stats?{PERIOD}", headers=written)).json()
    workbook = await inspector.get(f"/api/v1/dossier-stats?{PERIOD}", headers={"Accept": XLSX})
    assert workbook.status_code == 200, workbook.text
    texts, rows = read_form(workbook.content)
    assert "Đơn vị báo cáo: Ủy ban nhân dân tỉnh" in texts
    assert "Cơ quan, đơn vị" in texts
    names = {item["code"]: item["name"]
             for item in (await inspector.get("/api/v1/agencies?limit=500")).json()["items"]}
    assert set(rows) == {names[code] for code in stats["by_agency"]} | {"Tổng cộng"}
    for code, figures in stats["by_agency"].items():
        assert rows[names[code]] == figures_of(figures), code
    assert rows["Tổng cộng"] == figures_of(stats)
    assert rows[f"Sở thử nghiệm {first}"] == rows[f"Sở thử nghiệm {second}"] == \
        [7, 3, 3, 1, 4, 1, 1, 2, 2, 1, 1, 1, 0.5]


async def test_the_agency_report_workbook_has_its_plan_table_indexes_and_form(stack_api):
    admin = stack_api.admin
    agency = unique("SXR")
    await register_agency(admin, agency)
    written = await _a_month_of_two_fields(admin, agency)
    plan = (await admin.post("/api/v1/plans", json={
        "agency": agency, "year": 2022, "title": "Kế hoạch CCHC năm 2022"})).json()
    for title, due in (("Rà soát TTHC", "2022-06-30"), ("Số hóa hồ sơ", "2022-07-10"),
                       ("Tập huấn", "2022-12-31")):
        added = await admin.post(f"/api/v1/plans/{plan['id']}/tasks", json={
            "title": title, "area": "procedures", "due_date": due, "owner": "Văn phòng",
            "added_at": "2022-02-01T09:00:00+07:00"})
        assert added.status_code == 201, added.text
        planning = added.headers["X-Event-Position"]
        if title == "Rà soát TTHC":
            answer = await admin.post(f"/api/v1/tasks/{added.json()['id']}/completion", json={
                "completed_at": "2022-06-20T10:00:00+07:00", "evidence": "Báo cáo 12/BC"})
            assert answer.status_code == 200, answer.text
    answer = await admin.post("/api/v1/index-results", json={
        "index": "PAR", "year": 2021, "agency": agency, "score": 93.8, "group": "department",
        "published_on": "2022-04-20"})
    assert answer.status_code == 201, answer.text
    position = answer.headers["X-Event-Position"]
    query = f"/api/v1/reports/agency?agency={agency}&year=2022&as_of=2022-07-15"

    positions = (f"dossier={written['X-Min-Position']}, planning={planning}, "
                 f"scoring={position}")
    anchor = await stack_api.stack.anchor_signer.anchor_once()  # the log's heads, signed
    assert anchor is not None
    report = (await admin.get(query, headers={"X-Min-Position": positions})).json()
    workbook = await admin.get(query, headers={"Accept": XLSX, "X-Min-Position": positions})
    assert workbook.status_code == 200, workbook.text
    assert workbook.headers["content-type"] == XLSX
    book = load_workbook(BytesIO(workbook.content))
    assert book.sheetnames == ["Báo cáo CCHC", "Biểu II.06a"]
    sheet = [row for row in book["Báo cáo CCHC"].iter_rows(values_only=True)]
    texts = [cell for row in sheet for cell in row if isinstance(cell, str)]
    assert "BÁO CÁO CÔNG TÁC CẢI CÁCH HÀNH CHÍNH NĂM 2022" in texts
    assert f"Cơ quan: Sở thử nghiệm {agency} ({agency})" in texts
    assert "Số liệu tính đến ngày 15/07/2022" in texts
    # The footer names the signed anchor of the log that covers the figures.
    assert report["anchor"]["fingerprint"] == anchor.fingerprint()
    assert anchor_footer_text(report["anchor"]) in texts
    assert f"Dấu vân tay của mốc (SHA-256): {anchor.fingerprint()}" in texts
    by_label = {row[0]: row[1] for row in sheet if isinstance(row[0], str)}
    plan = report["plan"]
    assert plan["total"] == 3 and plan["completed"] == 1 and plan["overdue"] == 1
    assert by_label["Tổng số nhiệm vụ"] == plan["total"]
    assert by_label["Đã hoàn thành"] == plan["completed"]
    assert by_label["Trong đó: hoàn thành đúng hạn"] == plan["completed_on_time"]
    assert by_label["Trong đó: hoàn thành quá hạn"] == plan["completed_late"]
    assert by_label["Đang thực hiện trong hạn"] == plan["in_progress"]
    assert by_label["Quá hạn chưa hoàn thành"] == plan["overdue"]
    assert by_label["Đã hủy"] == plan["cancelled"]
    assert by_label["Tỷ lệ hoàn thành"] == plan["completion_rate"]
    assert by_label["Số thủ tục hành chính đã công bố"] == report["procedures_published"] == 2
    indexes = [row[:6] for row in sheet if isinstance(row[0], str) and row[0].startswith("Chỉ số ")]
    assert indexes == [
        (f"Chỉ số CCHC ({item['index']})", item["year"], item["score"], item["rank"], item["of"],
         "sở, ban, ngành") for item in report["indexes"]]
    assert indexes and indexes[0][2] == 93.8

    texts, rows = read_form(workbook.content)
    assert "Kỳ báo cáo: từ ngày 01/01/2022 đến ngày 15/07/2022" in texts
    assert rows == {f"Sở thử nghiệm {agency}": figures_of(report["dossiers"]),
                    "Tổng cộng": figures_of(report["dossiers"])}


async def test_json_stays_the_default_and_by_field_needs_an_agency(stack_api):
    admin = stack_api.admin
    plain = await admin.get(f"/api/v1/dossier-stats?{PERIOD}")
    assert plain.headers["content-type"].startswith("application/json")
    assert "by_field" not in plain.json()
    refused = await admin.get(f"/api/v1/dossier-stats?{PERIOD}&by=field")
    assert refused.status_code == 422


async def test_the_form_workbook_is_not_counted_by_decision_766s_clock(stack_api):
    admin = stack_api.admin
    period = {"from": "2022-01-01", "to": "2022-12-31"}
    refused = await admin.get("/api/v1/dossier-stats", params={**period, "method": "766"},
                              headers={"Accept": XLSX})
    assert refused.status_code == 422
    assert [e["field"] for e in refused.json()["errors"]] == ["method"]
    by_766 = await admin.get("/api/v1/dossier-stats", params={**period, "method": "766"})
    assert by_766.status_code == 200 and by_766.json()["method"] == "766"
