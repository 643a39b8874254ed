"""Reading an import file: what a spreadsheet program saves is read, and what cannot be read is
refused as the file's fault (a 4xx), never an unexpected error."""

import pytest

from cchc.gateway.importing.sheets import UnreadableFile, read_rows


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_rows_end_at_any_line_ending(newline: str) -> None:
    content = newline.join(["Mã thủ tục,Họ tên", "1.001,Nguyễn Văn An", "1.002,Trần Thị Bình"])
    header, rows = read_rows(content.encode())
    assert header == ["ma thu tuc", "ho ten"]
    assert [(row.number, row.text("ho ten")) for row in rows] == [
        (2, "Nguyễn Văn An"), (3, "Trần Thị Bình")]


def test_a_line_break_inside_quotes_stays_in_its_field() -> None:
    header, rows = read_rows('Mã thủ tục,Ghi chú\n1.001,"dòng một\rdòng hai"\n'.encode())
    assert rows[0].text("ghi chu") == "dòng một\rdòng hai"


def test_a_field_beyond_the_readers_limit_is_an_unreadable_file() -> None:
    content = "Mã thủ tục,Ghi chú\n1.001,\"" + "x" * 200_000 + "\"\n"
    with pytest.raises(UnreadableFile, match="not a readable CSV file"):
        read_rows(content.encode())
