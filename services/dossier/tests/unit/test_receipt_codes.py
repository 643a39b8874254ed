"""Receipt codes: readable, and never mistaken for a dossier id."""

from datetime import date

import pytest

from cchc.dossier.domain.receipt_codes import is_receipt_code, receipt_code
from cchc.runtime.ids import new_id


def test_a_code_names_the_agency_the_day_and_the_daily_number():
    assert receipt_code("STTTT", date(2022, 7, 11), 7) == "STTTT-220711-0007"
    assert receipt_code("UBND_HUYEN-A", date(2026, 1, 2), 12_345) == "UBND_HUYEN-A-260102-12345"


def test_codes_are_recognised_and_ids_are_not():
    assert is_receipt_code("STTTT-220711-0007")
    assert is_receipt_code(receipt_code("UBND_HUYEN-A", date(2026, 1, 2), 1))
    assert not any(is_receipt_code(new_id()) for _ in range(200))
    assert not is_receipt_code("STTTT-2207-0007") and not is_receipt_code("STTTT-220711-7")


def test_numbers_start_at_one():
    with pytest.raises(ValueError):
        receipt_code("STTTT", date(2022, 7, 11), 0)
