"""Biểu số II.06a/VPCP/KSTT (Circular 01/2020/TT-VPCP): results of handling procedures' dossiers.

The official layout: the reporting unit and the receiving unit in the header, the title and the
period, then the numbered columns
  (1) STT, (2) the row's name (an agency, or a field of procedures of one agency),
  (3) received in total = (4) online in the period + (5) at the desk or by post in the period
      + (6) carried over from the previous period,
  (7) resolved = (8) before the due date + (9) on it + (10) after it,
  (11) in progress at the end = (12) not yet due + (13) overdue,
with two columns of ours after them, outside the official form: (14) withdrawn and (15) the
on-time rate ((8) + (9)) / (7). A row per agency (or per field) and the totals row. Every
figure is the JSON answer's, written as a value (not a formula), so any reader sees it.
"""

from io import BytesIO
from typing import Any

from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from cchc.gateway.workbooks.cells import (
    CENTRED,
    COUNT_FORMAT,
    LEFT,
    RATE_FORMAT,
    merged,
    vi_day,
    write,
)

FORM_CODE = "Biểu số II.06a/VPCP/KSTT"
FORM_BASIS = "Ban hành kèm theo Thông tư số 01/2020/TT-VPCP ngày 21/10/2020"
TITLE = "TÌNH HÌNH, KẾT QUẢ GIẢI QUYẾT THỦ TỤC HÀNH CHÍNH"
RECEIVING_UNIT = "Văn phòng Ủy ban nhân dân tỉnh"
SHEET_TITLE = "Biểu II.06a"
TOTAL_LABEL = "Tổng cộng"
LAST_COLUMN = 15

# Column number (as printed in the numbering row) -> how its figure is read from a stats answer.
FIGURES: dict[int, Any] = {
    3: lambda s: s["received"]["total"],
    4: lambda s: s["received"]["online"],
    5: lambda s: s["received"]["direct"] + s["received"]["postal"],
    6: lambda s: s["received"]["carried_over"],
    7: lambda s: s["resolved"]["total"],
    8: lambda s: s["resolved"]["early"],
    9: lambda s: s["resolved"]["on_time"],
    10: lambda s: s["resolved"]["late"],
    11: lambda s: s["in_progress"]["total"],
    12: lambda s: s["in_progress"]["not_due"],
    13: lambda s: s["in_progress"]["overdue"],
    14: lambda s: s["withdrawn"],
    15: lambda s: s["on_time_rate"],
}


def form_rows(stats: dict[str, Any], names: dict[str, str]) -> tuple[str, list[tuple[str, dict]]]:
    """The name column's heading and the rows (name, figures) of a dossier-stats answer.

    Summed over agencies (``by_agency``): a row per agency. One agency with ``by_field``: a row
    per field of its procedures. One agency without: its own row.
    """
    if stats.get("by_agency") is not None:
        rows = [(names.get(code) or code, figures)
                for code, figures in stats["by_agency"].items()]
        return "Cơ quan, đơn vị", rows
    if stats.get("by_field") is not None:
        return "Lĩnh vực giải quyết", list(stats["by_field"].items())
    agency = stats.get("agency") or ""
    return "Cơ quan, đơn vị", [(names.get(agency) or agency, stats)]


def ii06a_workbook(stats: dict[str, Any], unit: str, names: dict[str, str]) -> bytes:
    """The form as .xlsx bytes: ``stats`` is a dossier-stats answer, ``unit`` the reporting
    unit's name, ``names`` agency names by code."""
    book = Workbook()
    write_ii06a(book.active, stats, unit, names)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


def write_ii06a(sheet: Worksheet, stats: dict[str, Any], unit: str,
                names: dict[str, str]) -> None:
    sheet.title = SHEET_TITLE
    name_heading, rows = form_rows(stats, names)
    _header(sheet, unit, stats["from"], stats["to"])
    _column_headings(sheet, name_heading, first_row=8)
    row = 12
    for number, (name, figures) in enumerate(rows, start=1):
        _figures_row(sheet, row, number, name, figures, bold=False)
        row += 1
    _figures_row(sheet, row, None, TOTAL_LABEL, stats, bold=True)
    _footer(sheet, row + 2, stats.get("late_entries"))
    _layout(sheet)


def _header(sheet: Worksheet, unit: str, start: str, end: str) -> None:
    merged(sheet, 1, 1, 6, f"Đơn vị báo cáo: {unit}", bold=True, align=LEFT)
    merged(sheet, 1, 11, LAST_COLUMN, FORM_CODE, bold=True)
    merged(sheet, 2, 1, 6, f"Đơn vị nhận báo cáo: {RECEIVING_UNIT}", align=LEFT)
    merged(sheet, 2, 11, LAST_COLUMN, FORM_BASIS, italic=True, size=10)
    merged(sheet, 4, 1, LAST_COLUMN, TITLE, bold=True, size=14)
    merged(sheet, 5, 1, LAST_COLUMN, f"Kỳ báo cáo: từ ngày {vi_day(start)} đến ngày {vi_day(end)}",
           italic=True)
    merged(sheet, 6, 11, LAST_COLUMN, "Đơn vị tính: số hồ sơ", italic=True, size=10)


def _column_headings(sheet: Worksheet, name_heading: str, first_row: int) -> None:
    r1, r2, r3 = first_row, first_row + 1, first_row + 2
    box = {"bold": True, "boxed": True, "size": 11}
    merged(sheet, r1, 1, 1, "STT", to_row=r3, **box)
    merged(sheet, r1, 2, 2, name_heading, to_row=r3, **box)
    merged(sheet, r1, 3, 6, "Số hồ sơ nhận giải quyết", **box)
    merged(sheet, r2, 3, 3, "Tổng số", to_row=r3, **box)
    merged(sheet, r2, 4, 5, "Trong kỳ", **box)
    merged(sheet, r3, 4, 4, "Trực tuyến", **box)
    merged(sheet, r3, 5, 5, "Trực tiếp, dịch vụ bưu chính", **box)
    merged(sheet, r2, 6, 6, "Từ kỳ trước", to_row=r3, **box)
    merged(sheet, r1, 7, 10, "Số hồ sơ đã giải quyết", **box)
    merged(sheet, r2, 7, 7, "Tổng số", to_row=r3, **box)
    merged(sheet, r2, 8, 8, "Trước hạn", to_row=r3, **box)
    merged(sheet, r2, 9, 9, "Đúng hạn", to_row=r3, **box)
    merged(sheet, r2, 10, 10, "Quá hạn", to_row=r3, **box)
    merged(sheet, r1, 11, 13, "Số hồ sơ đang giải quyết", **box)
    merged(sheet, r2, 11, 11, "Tổng số", to_row=r3, **box)
    merged(sheet, r2, 12, 12, "Trong hạn", to_row=r3, **box)
    merged(sheet, r2, 13, 13, "Quá hạn", to_row=r3, **box)
    merged(sheet, r1, 14, 14, "Số hồ sơ rút (ngoài biểu)", to_row=r3, **box)
    merged(sheet, r1, 15, 15, "Tỷ lệ giải quyết trước hạn, đúng hạn (ngoài biểu)", to_row=r3,
           **box)
    for column in range(1, LAST_COLUMN + 1):
        write(sheet, r3 + 1, column, f"({column})", italic=True, size=10, align=CENTRED,
              boxed=True)


def _figures_row(sheet: Worksheet, row: int, number: int | None, name: str,
                 stats: dict[str, Any], bold: bool) -> None:
    write(sheet, row, 1, number, bold=bold, align=CENTRED, boxed=True)
    write(sheet, row, 2, name, bold=bold, align=LEFT, boxed=True)
    for column, figure in FIGURES.items():
        write(sheet, row, column, figure(stats), bold=bold, boxed=True,
              number_format=RATE_FORMAT if column == 15 else COUNT_FORMAT)


LATE_ENTRIES_NOTE = "Số sự kiện trong kỳ được nhập muộn (sau thời hạn cập nhật):"


def _footer(sheet: Worksheet, row: int, late_entries: int | None) -> None:
    if late_entries:  # the figures they touch were not recorded when they happened
        merged(sheet, row, 1, 6, LATE_ENTRIES_NOTE, italic=True, size=10, align=LEFT)
        write(sheet, row, 7, late_entries, italic=True, size=10, number_format=COUNT_FORMAT)
        row += 1
    notes = [
        "Ghi chú: (3) = (4) + (5) + (6); (7) = (8) + (9) + (10); (11) = (12) + (13).",
        "Cột (14) và (15) không thuộc biểu mẫu: (15) = ((8) + (9)) / (7); để trống khi (7) "
        "bằng 0.",
        "Hồ sơ đang giải quyết tính đến hết ngày cuối kỳ; hồ sơ chờ bổ sung được tính là trong "
        "hạn.",
    ]
    for offset, note in enumerate(notes):
        merged(sheet, row + offset, 1, LAST_COLUMN, note, italic=True, size=10, align=LEFT)
    signatures = row + len(notes) + 1
    merged(sheet, signatures, 1, 6, "NGƯỜI LẬP BIỂU", bold=True)
    merged(sheet, signatures, 10, LAST_COLUMN, "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ", bold=True)
    merged(sheet, signatures + 1, 10, LAST_COLUMN, "(Ký, ghi rõ họ tên, đóng dấu)", italic=True)


def _layout(sheet: Worksheet) -> None:
    sheet.column_dimensions["A"].width = 6
    sheet.column_dimensions["B"].width = 40
    for letter in "CDEFGHIJKLMN":
        sheet.column_dimensions[letter].width = 12
    sheet.column_dimensions["O"].width = 16
    sheet.row_dimensions[10].height = 45
    sheet.freeze_panes = "C12"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
