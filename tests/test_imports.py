"""Importing a procedure catalogue and dossiers from the files agencies already hold
(issue 16, item 3): every row checked first, the events marked as imported, nothing twice."""

import csv
import io
import json
from pathlib import Path

from api_steps import unique

from cchc.cli.importing import run_import
from cchc.gateway.auth import issue_token

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
PROCEDURES = SAMPLES / "thu-tuc-hanh-chinh-csdl-quoc-gia.xlsx"
DOSSIERS = SAMPLES / "ho-so-mot-cua.csv"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def catalogue(stack_api) -> None:  # type: ignore[no-untyped-def]
    """The agencies the sample catalogue names, then the catalogue itself (idempotent)."""
    admin = stack_api.admin
    for code, name in (("STP", "Sở Tư pháp"), ("STTTT", "Sở Thông tin và Truyền thông")):
        await admin.post("/api/v1/agencies", json={"code": code, "name": name,
                                                   "group": "department"})
    answer = await admin.post("/api/v1/imports/procedures", content=PROCEDURES.read_bytes(),
                              params={"file_name": PROCEDURES.name}, headers={"Content-Type": XLSX})
    assert answer.status_code == 200, answer.text
    if position := answer.headers.get("X-Event-Position"):  # the command line reads it next
        await admin.get("/api/v1/procedures", headers={"X-Min-Position": position})


def csv_bytes(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


async def test_the_national_catalogue_imports_once_whatever_the_runs(stack_api):
    await catalogue(stack_api)
    admin = stack_api.admin
    listed = (await admin.get("/api/v1/procedures", params={"agency": "STP"})).json()["items"]
    lltp = next(p for p in listed if p["code"] == "1.001023.000.00.00.H26")
    assert (lltp["processing_days"], lltp["online_level"], lltp["field"]) == (
        10, "full", "Lý lịch tư pháp")
    assert lltp["published_on"] == "2022-01-15"

    again = await admin.post("/api/v1/imports/procedures", content=PROCEDURES.read_bytes(),
                             params={"file_name": PROCEDURES.name}, headers={"Content-Type": XLSX})
    assert again.status_code == 200, again.text
    assert again.json()["already_present"] == again.json()["commands"] == 7


async def test_a_file_with_bad_rows_is_refused_whole_naming_each_row(stack_api):
    await catalogue(stack_api)
    admin = stack_api.admin
    source = unique("HS")
    header = ["Mã hồ sơ", "Mã thủ tục", "Người nộp", "Kênh nộp", "Ngày tiếp nhận",
              "Ngày có kết quả", "Kết quả", "Lý do", "Ngày trả kết quả"]
    good = [f"{source}-1", "2.000908.000.00.00.H26", "Lê Văn Cường", "Trực tiếp",
            "11/01/2022 10:05", "11/01/2022 16:00", "Chấp thuận", "", ""]
    rows = [header, good,
            [f"{source}-2", "9.999999", "A", "Trực tiếp", "11/01/2022 10:05", "", "", "", ""],
            [f"{source}-3", "2.000908.000.00.00.H26", "B", "Fax", "31/02/2022", "", "", "", ""],
            [f"{source}-4", "2.000908.000.00.00.H26", "C", "Trực tuyến", "11/01/2022 10:05",
             "12/01/2022 10:00", "Từ chối", "", ""],
            [f"{source}-5", "2.000908.000.00.00.H26", "D", "Trực tuyến", "11/01/2022 10:05",
             "10/01/2022 10:00", "", "", "13/01/2022 10:00"],
            [f"{source}-1", "2.000908.000.00.00.H26", "E", "Trực tuyến", "11/01/2099", "", "",
             "", ""]]
    answer = await admin.post("/api/v1/imports/dossiers", content=csv_bytes(rows),
                              params={"file_name": "loi.csv"}, headers={"Content-Type": "text/csv"})
    assert answer.status_code == 422, answer.text
    rejected = {(r["row"], r["field"]) for r in answer.json()["rejected"]}
    assert rejected == {
        (3, "Mã thủ tục"), (4, "Kênh nộp"), (4, "Ngày tiếp nhận"), (5, "Lý do"),
        (6, "Ngày có kết quả"), (7, "Mã hồ sơ"), (7, "Ngày tiếp nhận")}
    assert "nothing was written" in answer.json()["detail"]
    found = (await admin.get("/api/v1/dossiers", params={"q": source.lower()})).json()["items"]
    assert found == []  # not even the good row


async def test_dossiers_import_with_their_times_marked_and_never_twice(stack_api, tmp_path,
                                                                       capsys):
    await catalogue(stack_api)
    admin = stack_api.admin
    source = unique("IMP")
    # The sample, with codes of this test's own: the rows' keys are their source codes.
    text = DOSSIERS.read_text(encoding="utf-8-sig").replace("000.00.26.H26", source)
    file = tmp_path / "ho-so-mot-cua.csv"
    file.write_text(text, encoding="utf-8")
    token = issue_token(stack_api.secret, "admin-import", "admin", None)

    assert await run_import("dossiers", file, stack_api.base_url, token, 4) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["rows"], report["imported"], report["commands"]) == (6, 6, 14)
    seen = {"X-Min-Position": str(report["position"])}
    found = (await admin.get("/api/v1/dossiers", headers=seen,
                             params={"q": source.lower(), "limit": 50})).json()
    assert len(found["items"]) == 6
    first = next(d for d in found["items"] if d["applicant"]["source_code"].endswith("220110-0001"))
    detail = (await admin.get(f"/api/v1/dossiers/{first['id']}")).json()
    assert [e["type"] for e in detail["history"]] == [
        "DossierReceived", "DossierResolved", "ResultReturned"]
    assert detail["received_at"].startswith("2022-01-10T08:15")
    assert {e["late_entry"]["imported_from"] for e in detail["history"]} == {
        "ho-so-mot-cua.csv, dòng 2"}
    assert detail["late_entry"]["events"] == 3
    rejected = next(d for d in found["items"] if d["outcome"] == "rejected")
    assert rejected["status"] == "resolved"

    stats = (await admin.get("/api/v1/dossier-stats", params={
        "agency": "STP", "from": "2022-01-01", "to": "2022-01-31"})).json()
    assert stats["late_entries"] >= 10  # each imported event counts where it is dated

    before = (await admin.get("/api/v1/dossiers", params={"q": source.lower()})).json()
    again = await admin.post("/api/v1/imports/dossiers", content=file.read_bytes(),
                             params={"file_name": file.name}, headers={"Content-Type": "text/csv"})
    assert again.status_code == 200, again.text
    report = again.json()
    assert report["imported"] == 6 and report["already_present"] == report["commands"] == 14, report
    after = (await admin.get("/api/v1/dossiers", params={"q": source.lower()})).json()
    assert [d["version"] for d in after["items"]] == [d["version"] for d in before["items"]]


async def test_the_command_line_refuses_a_bad_file_and_says_why(stack_api, tmp_path, capsys):
    await catalogue(stack_api)
    file = tmp_path / "sai.csv"
    file.write_text("Mã hồ sơ,Mã thủ tục,Người nộp\nX-1,2.000908.000.00.00.H26,A\n",
                    encoding="utf-8")
    token = issue_token(stack_api.secret, "admin-import", "admin", None)
    assert await run_import("dossiers", file, stack_api.base_url, token, 4) == 1
    assert "Kênh nộp, Ngày tiếp nhận: the header lacks these columns" in capsys.readouterr().err
    officer = issue_token(stack_api.secret, "o", "officer", "STP")
    refused = await stack_api.as_("officer", "STP").post(
        "/api/v1/imports/dossiers", content=DOSSIERS.read_bytes(),
        headers={"Content-Type": "text/csv"})
    assert refused.status_code == 403 and officer
