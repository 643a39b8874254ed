"""What the workbooks share: styles, number formats and a few cell-writing helpers (openpyxl)."""

from typing import Any

from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.worksheet.worksheet import Worksheet

FONT_NAME = "Times New Roman"  # the font of Vietnamese administrative documents
COUNT_FORMAT = "#,##0"  # shown with the reader's own separators (1.234 in a Vietnamese Excel)
RATE_FORMAT = "0.00%"
SCORE_FORMAT = "#,##0.00"

THIN = Side(style="thin", color="444444")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTRED = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)


def font(bold: bool = False, italic: bool = False, size: int = 12) -> Font:
    return Font(name=FONT_NAME, bold=bold, italic=italic, size=size)


def write(sheet: Worksheet, row: int, column: int, value: Any, *, bold: bool = False,
          italic: bool = False, size: int = 12, align: Alignment | None = None,
          number_format: str | None = None, boxed: bool = False) -> None:
    cell = sheet.cell(row=row, column=column, value=value)
    if isinstance(value, str):
        # Text stays text: openpyxl makes a formula of any string that begins with "=", and
        # names are typed by people (an agency named "=HYPERLINK(...)" would run in Excel).
        cell.data_type = "s"
    cell.font = font(bold, italic, size)
    if align is not None:
        cell.alignment = align
    if number_format is not None:
        cell.number_format = number_format
    if boxed:
        cell.border = BOX


def merged(sheet: Worksheet, row: int, first: int, last: int, value: Any, *,
           to_row: int | None = None,
           bold: bool = False, italic: bool = False, size: int = 12,
           align: Alignment = CENTRED, boxed: bool = False) -> None:
    """A value across columns ``first``..``last`` (and rows ``row``..``to_row``)."""
    end_row = to_row or row
    if last > first or end_row > row:
        sheet.merge_cells(start_row=row, start_column=first, end_row=end_row, end_column=last)
    write(sheet, row, first, value, bold=bold, italic=italic, size=size, align=align, boxed=boxed)
    if boxed:
        for r in range(row, end_row + 1):
            for c in range(first, last + 1):
                sheet.cell(row=r, column=c).border = BOX


def vi_day(iso: str) -> str:
    """2022-07-15 -> 15/07/2022, as the forms write dates."""
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"
