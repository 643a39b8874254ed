"""Rows of a procedure catalogue, as the national procedure database exports it, into
``publish-procedure`` commands.

Columns (any case, with or without accents): Mã thủ tục, Tên thủ tục, Lĩnh vực, Cơ quan thực
hiện (the agency's code or its registered name), Thời hạn giải quyết ("05 ngày làm việc"),
Mức độ/Hình thức nộp (Toàn trình, Một phần, Trực tiếp, or Mức độ 2-4); optional: Ngày công bố.
"""

from pydantic import ValidationError

from cchc.contracts.dossier_commands import PublishProcedure
from cchc.gateway.importing import cells
from cchc.gateway.importing.rows import Checked, Refusal, Step, refusals_of
from cchc.gateway.importing.sheets import Row, header_key

CODE, NAME, FIELD, AGENCY = "ma thu tuc", "ten thu tuc", "linh vuc", "co quan thuc hien"
DAYS, LEVEL, PUBLISHED = "thoi han giai quyet", "muc do hinh thuc nop", "ngay cong bo"
LEVEL_COLUMNS = (LEVEL, "muc do", "hinh thuc nop")
REQUIRED = (CODE, NAME, FIELD, AGENCY, DAYS)
COLUMNS = {"code": "Mã thủ tục", "name": "Tên thủ tục", "field": "Lĩnh vực",
           "agency": "Cơ quan thực hiện", "processing_days": "Thời hạn giải quyết",
           "online_level": "Mức độ/Hình thức nộp", "published_on": "Ngày công bố"}


def check_procedures(header: list[str], rows: list[Row], agencies: dict[str, str],
                     source: str) -> Checked:
    """Every row checked; ``agencies``: registered code -> name."""
    checked = Checked()
    missing = [c for c in REQUIRED if c not in header]
    if not any(c in header for c in LEVEL_COLUMNS):
        missing.append(LEVEL)
    if missing:
        checked.refusals.append(Refusal(1, ", ".join(missing), "the header lacks these columns"))
        return checked
    by_name = {header_key(name): code for code, name in agencies.items()}
    seen: dict[str, int] = {}
    for row in rows:
        problems: list[Refusal] = []
        code = row.text(CODE)
        if code in seen:
            problems.append(Refusal(row.number, COLUMNS["code"], f"also in row {seen[code]}"))
        seen.setdefault(code, row.number)
        agency_text = row.text(AGENCY)
        agency = agency_text if agency_text in agencies else by_name.get(header_key(agency_text))
        if agency is None:
            problems.append(Refusal(row.number, COLUMNS["agency"],
                                    f"{agency_text!r} is no registered agency's code or name"))
        values: dict[str, object] = {"code": code, "name": row.text(NAME),
                                     "field": row.text(FIELD), "agency": agency or "_"}
        for column, name, read in ((DAYS, "processing_days", cells.working_days),
                                   (_level_column(row), "online_level", cells.online_level),
                                   (PUBLISHED, "published_on", cells.calendar_date)):
            if not row.text(column):
                continue
            try:
                values[name] = read(row.values[column])
            except cells.CellError as error:
                problems.append(Refusal(row.number, COLUMNS[name], str(error)))
        if "online_level" not in values:
            problems.append(Refusal(row.number, COLUMNS["online_level"], "missing"))
        try:
            command = PublishProcedure(**values)  # type: ignore[arg-type]
        except ValidationError as error:
            problems += [p for p in refusals_of(error, row.number, COLUMNS)
                         if p.field not in {q.field for q in problems}]
        if problems:
            checked.refusals += problems
            continue
        checked.items.append((row.number, [Step(
            "publish-procedure", command, key=f"import-procedure:{code}")]))
    return checked


def _level_column(row: Row) -> str:
    return next((c for c in LEVEL_COLUMNS if row.text(c)), LEVEL)
