"""A CSV or XLSX file as numbered rows keyed by normalized column names.

Headers are matched without case, accents or punctuation ("Mã thủ tục" -> "ma thu tuc"), so the
exports of different systems (and hand-edited copies) read the same. Row numbers are the file's
own (the header is row 1), as a person opening the file sees them.
"""

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

XLSX_MAGIC = b"PK\x03\x04"
MAX_ROWS = 1_000_000
ROW_COLUMN = "row"  # header "_row": the row's number in the whole file


class UnreadableFile(ValueError):
    """The file is neither a CSV (UTF-8) nor an XLSX workbook, or has no header row."""


@dataclass(frozen=True)
class Row:
    number: int  # as the file's reader sees it: the header is row 1
    values: dict[str, Any]

    def text(self, column: str) -> str:
        value = self.values.get(column)
        if value is None:
            return ""
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()


def header_key(name: str) -> str:
    """"Mã thủ tục" -> "ma thu tuc"; "Mức độ/Hình thức nộp" -> "muc do hinh thuc nop"."""
    name = name.replace("đ", "d").replace("Đ", "D")
    bare = "".join(c for c in unicodedata.normalize("NFD", name) if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]+", " ", bare.casefold()).strip()


def read_rows(content: bytes) -> tuple[list[str], list[Row]]:
    """The file's normalized header and its non-empty rows."""
    if content.startswith(XLSX_MAGIC):
        header, body = _xlsx(content)
    else:
        header, body = _csv(content)
    keys = [header_key(str(name or "")) for name in header]
    if ROW_COLUMN in keys[1:] or (keys and keys[0] == ROW_COLUMN and str(header[0]) != "_row"):
        raise UnreadableFile("a column named \"row\" is reserved")
    if not any(keys):
        raise UnreadableFile("the first row names no column")
    rows = []
    for number, values in body:
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        cells = {k: v for k, v in zip(keys, values, strict=False) if k}
        # A part of a larger file (cchc import sends one in parts) keeps the file's row numbers.
        given = str(cells.pop(ROW_COLUMN, "") or "").strip()
        rows.append(Row(int(given) if given.isdigit() else number, cells))
        if len(rows) > MAX_ROWS:
            raise UnreadableFile(f"more than {MAX_ROWS} rows: split the file")
    return [k for k in keys if k != ROW_COLUMN], rows


def part_csv(header: list[str], rows: list[Row]) -> bytes:
    """Some rows of a file as a CSV of their own, each keeping its row number (``_row``)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["_row", *header])
    for row in rows:
        writer.writerow([row.number, *(_text(row.values.get(column)) for column in header)])
    return out.getvalue().encode()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value.isoformat() if isinstance(value, (date, datetime)) else str(value)


def _csv(content: bytes) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UnreadableFile("a CSV file must be UTF-8 (Excel: \"CSV UTF-8\")") from None
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    # newline="": the reader itself ends rows at \n, \r\n or a lone \r (a file saved on an
    # old Mac), as the csv module asks of the files it reads.
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader, None)
        if header is None:
            raise UnreadableFile("the file is empty")
        return header, [(index + 2, list(values)) for index, values in enumerate(reader)]
    except csv.Error as error:  # a field too long, a stray character: the file's fault
        raise UnreadableFile(f"not a readable CSV file (line {reader.line_num}): {error}") from None


def _xlsx(content: bytes) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    from openpyxl import load_workbook  # only an XLSX import needs it

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        raise UnreadableFile(f"not a readable XLSX workbook: {error}") from None
    sheet = workbook.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, None)
    if header is None:
        raise UnreadableFile("the first sheet is empty")
    body = [(index + 2, [_cell(v) for v in values]) for index, values in enumerate(rows)]
    workbook.close()
    return [str(h or "") for h in header], body


def _cell(value: Any) -> Any:
    # A date or time cell of Excel stays a date or datetime; the row readers take both.
    return value if isinstance(value, (date, datetime, int, float)) or value is None else str(value)
