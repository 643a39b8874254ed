"""Receipt codes: what a citizen reads on the slip and types into the public lookup.

``<agency>-<YYMMDD>-<NNNN>``: the agency's code, the local date the dossier was received and its
number among that agency's receipts of that day (four digits, more past 9,999). A dossier id is
a UUID, whose last group is twelve hex digits, so the two are never confused.
"""

import re
from datetime import date

RECEIPT_CODE = re.compile(r"^(?P<agency>[A-Za-z0-9_-]+)-(?P<day>\d{6})-(?P<number>\d{4,})$")


def receipt_code(agency: str, day: date, number: int) -> str:
    if number < 1:
        raise ValueError("receipt numbers start at 1")
    return f"{agency}-{day:%y%m%d}-{number:04d}"


def is_receipt_code(text: str) -> bool:
    return RECEIPT_CODE.match(text) is not None
