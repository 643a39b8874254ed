"""Rows of a one-stop-shop system's dossier export into the commands of each dossier's life:
``receive-dossier``, then ``resolve-dossier`` and ``return-result`` when the row says so.

Columns (any case, with or without accents): Mã hồ sơ (the system's own code, unique in the
file), Mã thủ tục (a procedure of the catalogue), Người nộp, Kênh nộp (Trực tuyến, Trực tiếp,
Bưu chính), Ngày tiếp nhận; optional: Số điện thoại, Địa chỉ, Ngày có kết quả, Kết quả (Chấp
thuận, Từ chối), Lý do (a rejection needs one), Ngày trả kết quả. Times are local
("11/07/2022 09:30"); a date alone means 08:00 for a receipt and 16:00 for a result.
"""

from datetime import datetime, time
from typing import Any

from pydantic import ValidationError

from cchc.contracts.dossier_commands import ReceiveDossier, ResolveDossier, ReturnResult
from cchc.gateway.importing import cells
from cchc.gateway.importing.rows import Checked, Refusal, Step, refusals_of
from cchc.gateway.importing.sheets import Row

SOURCE, PROCEDURE, APPLICANT, CHANNEL = "ma ho so", "ma thu tuc", "nguoi nop", "kenh nop"
RECEIVED, RESOLVED, OUTCOME, REASON = "ngay tiep nhan", "ngay co ket qua", "ket qua", "ly do"
RETURNED, PHONE, ADDRESS = "ngay tra ket qua", "so dien thoai", "dia chi"
REQUIRED = (SOURCE, PROCEDURE, APPLICANT, CHANNEL, RECEIVED)
LABELS = {SOURCE: "Mã hồ sơ", PROCEDURE: "Mã thủ tục", APPLICANT: "Người nộp",
          CHANNEL: "Kênh nộp", RECEIVED: "Ngày tiếp nhận", RESOLVED: "Ngày có kết quả",
          OUTCOME: "Kết quả", REASON: "Lý do", RETURNED: "Ngày trả kết quả"}
COMMAND_FIELDS = {"procedure": LABELS[PROCEDURE], "channel": LABELS[CHANNEL],
                  "received_at": LABELS[RECEIVED], "applicant": LABELS[APPLICANT],
                  "resolved_at": LABELS[RESOLVED], "outcome": LABELS[OUTCOME],
                  "reason": LABELS[REASON], "returned_at": LABELS[RETURNED]}
RECEIPT_TIME, RESULT_TIME = time(8, 0), time(16, 0)


def check_dossiers(header: list[str], rows: list[Row], procedures: dict[str, str],
                   source: str, now: datetime) -> Checked:
    """Every row checked; ``procedures``: catalogue code -> agency."""
    checked = Checked()
    missing = [LABELS[c] for c in REQUIRED if c not in header]
    if missing:
        checked.refusals.append(Refusal(1, ", ".join(missing), "the header lacks these columns"))
        return checked
    seen: dict[str, int] = {}
    for row in rows:
        steps, problems = _row(row, procedures, source, now, seen)
        if problems:
            checked.refusals += problems
        else:
            checked.items.append((row.number, steps))
    return checked


def _row(row: Row, procedures: dict[str, str], source: str, now: datetime,
         seen: dict[str, int]) -> tuple[list[Step], list[Refusal]]:
    problems: list[Refusal] = []

    def refuse(column: str, reason: str) -> None:
        problems.append(Refusal(row.number, LABELS[column], reason))

    def read(column: str, how: Any, *args: Any) -> Any:
        if not row.text(column):
            return None
        try:
            return how(row.values[column], *args)
        except cells.CellError as error:
            refuse(column, str(error))
            return None

    code = row.text(SOURCE)
    if not code:
        refuse(SOURCE, "missing")
    elif code in seen:
        refuse(SOURCE, f"also in row {seen[code]}")
    seen.setdefault(code, row.number)
    procedure = row.text(PROCEDURE)
    if procedure and procedure not in procedures:
        refuse(PROCEDURE, f"{procedure!r} is not in the procedure catalogue")
    received = read(RECEIVED, cells.moment, RECEIPT_TIME)
    resolved = read(RESOLVED, cells.moment, RESULT_TIME)
    returned = read(RETURNED, cells.moment, RESULT_TIME)
    outcome = read(OUTCOME, cells.outcome) or ("approved" if resolved else None)
    channel = read(CHANNEL, cells.channel)
    for column, moment in ((RECEIVED, received), (RESOLVED, resolved), (RETURNED, returned)):
        if moment is not None and moment > now:
            refuse(column, "is in the future")
    if outcome and resolved is None and row.text(OUTCOME):
        refuse(RESOLVED, "a result needs its date")
    if received and resolved and resolved < received:
        refuse(RESOLVED, "is before the receipt")
    if returned and resolved is None:
        refuse(RETURNED, "a result is returned only once there is one (Ngày có kết quả)")
    elif returned and resolved and returned < resolved:
        refuse(RETURNED, "is before the result")
    if problems:
        return [], problems

    imported_from = f"{source}, dòng {row.number}"
    applicant = {"name": row.text(APPLICANT), "source_code": code}
    applicant.update({k: row.text(c) for k, c in (("phone", PHONE), ("address", ADDRESS))
                      if row.text(c)})
    steps: list[Step] = []
    key = f"import-dossier:{procedures.get(procedure, '_')}:{code}"
    try:
        steps.append(Step("receive-dossier", ReceiveDossier(
            procedure=procedure, channel=channel,
            received_at=received, applicant=applicant, imported_from=imported_from),
            key=f"{key}:receive"))
        if resolved is not None:
            steps.append(Step("resolve-dossier", ResolveDossier(
                resolved_at=resolved, outcome=outcome, reason=row.text(REASON),
                imported_from=imported_from), key=f"{key}:resolve", on_previous=True))
        if returned is not None:
            steps.append(Step("return-result", ReturnResult(
                returned_at=returned, imported_from=imported_from), key=f"{key}:return",
                on_previous=True))
    except ValidationError as error:
        problems += refusals_of(error, row.number, COMMAND_FIELDS)
    if outcome == "rejected" and not row.text(REASON):
        problems.append(Refusal(row.number, LABELS[REASON], "a rejection must give its reason"))
    return ([], problems) if problems else (steps, [])
