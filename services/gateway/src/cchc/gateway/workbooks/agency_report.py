"""The agency's CCHC report as a workbook: the report sheet (plan table, procedures, indexes)
and its dossiers on the II.06a form (1 January to the report's date)."""

from io import BytesIO
from typing import Any

from openpyxl import Workbook

from cchc.gateway.report_anchor import anchor_footer_text
from cchc.gateway.report_page import GROUP_NAMES, INDEX_NAMES
from cchc.gateway.workbooks.cells import (
    CENTRED,
    COUNT_FORMAT,
    LEFT,
    RATE_FORMAT,
    SCORE_FORMAT,
    merged,
    vi_day,
    write,
)
from cchc.gateway.workbooks.form_ii06a import write_ii06a

REPORT_SHEET = "Báo cáo CCHC"
PLAN_HEADING = "I. Kế hoạch cải cách hành chính"
PROCEDURES_HEADING = "II. Thủ tục hành chính"
INDEXES_HEADING = "III. Kết quả các chỉ số"
DOSSIERS_HEADING = "IV. Giải quyết hồ sơ thủ tục hành chính: xem biểu II.06a"

# (label, key of the plan answer, number format), in the report's order.
PLAN_ROWS = [
    ("Tổng số nhiệm vụ", "total", COUNT_FORMAT),
    ("Đã hoàn thành", "completed", COUNT_FORMAT),
    ("Trong đó: hoàn thành đúng hạn", "completed_on_time", COUNT_FORMAT),
    ("Trong đó: hoàn thành quá hạn", "completed_late", COUNT_FORMAT),
    ("Đang thực hiện trong hạn", "in_progress", COUNT_FORMAT),
    ("Quá hạn chưa hoàn thành", "overdue", COUNT_FORMAT),
    ("Đã hủy", "cancelled", COUNT_FORMAT),
    ("Tỷ lệ hoàn thành", "completion_rate", RATE_FORMAT),
]
INDEX_COLUMNS = ["Chỉ số", "Năm", "Điểm", "Xếp hạng", "Trên tổng số", "Nhóm xếp hạng"]


def agency_report_workbook(report: dict[str, Any]) -> bytes:
    """``report`` is the JSON agency report; the answer is the .xlsx bytes."""
    book = Workbook()
    sheet = book.active
    sheet.title = REPORT_SHEET
    name = report.get("agency_name") or report["agency"]
    merged(sheet, 1, 1, 6, f"BÁO CÁO CÔNG TÁC CẢI CÁCH HÀNH CHÍNH NĂM {report['year']}",
           bold=True, size=14)
    merged(sheet, 2, 1, 6, f"Cơ quan: {name} ({report['agency']})", bold=True)
    merged(sheet, 3, 1, 6, f"Số liệu tính đến ngày {vi_day(report['as_of'])}", italic=True)

    row = 5
    merged(sheet, row, 1, 6, PLAN_HEADING, bold=True, align=LEFT)
    row += 1
    write(sheet, row, 1, "Nội dung", bold=True, align=CENTRED, boxed=True)
    write(sheet, row, 2, "Số liệu", bold=True, align=CENTRED, boxed=True)
    plan = report["plan"]
    for label, key, number_format in PLAN_ROWS:
        row += 1
        write(sheet, row, 1, label, align=LEFT, boxed=True)
        write(sheet, row, 2, plan.get(key), number_format=number_format, boxed=True)

    row += 2
    merged(sheet, row, 1, 6, PROCEDURES_HEADING, bold=True, align=LEFT)
    row += 1
    write(sheet, row, 1, "Số thủ tục hành chính đã công bố", align=LEFT, boxed=True)
    write(sheet, row, 2, report["procedures_published"], number_format=COUNT_FORMAT, boxed=True)

    row += 2
    merged(sheet, row, 1, 6, INDEXES_HEADING, bold=True, align=LEFT)
    row += 1
    for column, heading in enumerate(INDEX_COLUMNS, start=1):
        write(sheet, row, column, heading, bold=True, align=CENTRED, boxed=True)
    for item in report["indexes"]:
        row += 1
        values = [
            (f"{INDEX_NAMES.get(item['index'], 'Chỉ số')} ({item['index']})", None),
            (item["year"], "0"), (item["score"], SCORE_FORMAT), (item["rank"], COUNT_FORMAT),
            (item["of"], COUNT_FORMAT), (GROUP_NAMES.get(item["group"], item["group"]), None),
        ]
        for column, (value, number_format) in enumerate(values, start=1):
            write(sheet, row, column, value, number_format=number_format, boxed=True,
                  align=LEFT if number_format is None else None)
    if not report["indexes"]:
        row += 1
        merged(sheet, row, 1, 6, "Chưa có kết quả chỉ số được công bố.", italic=True, align=LEFT)

    row += 2
    merged(sheet, row, 1, 6, DOSSIERS_HEADING, bold=True, align=LEFT)
    # The footer names the signed anchor of the log that covers these figures (an inspector
    # checks it with cchc verify).
    row += 2
    merged(sheet, row, 1, 6, anchor_footer_text(report.get("anchor")), italic=True, size=10,
           align=LEFT)
    if report.get("anchor"):
        row += 1
        fingerprint = report["anchor"]["fingerprint"]
        merged(sheet, row, 1, 6, f"Dấu vân tay của mốc (SHA-256): {fingerprint}",
               italic=True, size=10, align=LEFT)
    sheet.column_dimensions["A"].width = 60
    for letter in "BCDEF":
        sheet.column_dimensions[letter].width = 16

    write_ii06a(book.create_sheet(), report["dossiers"], name, {report["agency"]: name})
    out = BytesIO()
    book.save(out)
    return out.getvalue()
