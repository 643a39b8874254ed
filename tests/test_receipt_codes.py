"""Receipt codes and the receipt slip through the REST API (issue 16, item 1)."""

import asyncio
import io

from api_steps import act, agency_with_procedure, receive
from pypdf import PdfReader


async def test_each_receipt_gets_the_next_code_of_its_agency_and_day(stack_api):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    answers = await asyncio.gather(*(
        receive(admin, procedure, f"2022-07-11T0{8 + i % 2}:30:00+07:00") for i in range(6)))
    assert all(a.status_code == 201 for a in answers), [a.text for a in answers]
    codes = sorted(a.json()["receipt_code"] for a in answers)
    assert codes == [f"{agency}-220711-{n:04d}" for n in range(1, 7)]
    next_day = await receive(admin, procedure, "2022-07-12T08:00:00+07:00")
    assert next_day.json()["receipt_code"] == f"{agency}-220712-0001"


async def test_a_code_finds_the_dossier_wherever_an_id_does(stack_api):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    received = await receive(admin, procedure, "2022-07-11T09:30:00+07:00")
    dossier = received.json()
    code = dossier["receipt_code"]
    seen = {"X-Min-Position": received.headers["X-Event-Position"]}

    by_code = await admin.get(f"/api/v1/dossiers/{code}", headers=seen)
    assert by_code.status_code == 200 and by_code.json()["id"] == dossier["id"]
    found = (await admin.get("/api/v1/dossiers", params={"q": code}, headers=seen)).json()
    assert [d["id"] for d in found["items"]] == [dossier["id"]]
    partly = (await admin.get("/api/v1/dossiers", params={"q": code.lower()[:-2]},
                              headers=seen)).json()
    assert dossier["id"] in [d["id"] for d in partly["items"]]

    resolved = await act(admin, code, "resolution",
                         {"resolved_at": "2022-07-13T10:00:00+07:00", "outcome": "approved"})
    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["id"] == dossier["id"] and resolved.json()["receipt_code"] == code
    missing = await admin.get(f"/api/v1/dossiers/{agency}-220711-9999", headers=seen)
    assert missing.status_code == 404


async def test_the_receipt_slip_is_a_vietnamese_pdf_with_the_code_and_the_lookup_address(stack_api):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin, processing_days=3)
    received = await receive(admin, procedure, "2022-07-11T09:30:00+07:00")
    dossier = received.json()
    seen = {"X-Min-Position": received.headers["X-Event-Position"]}

    slip = await admin.get(f"/api/v1/dossiers/{dossier['id']}/receipt", headers=seen)
    assert slip.status_code == 200, slip.text
    assert slip.headers["content-type"] == "application/pdf"
    pdf = PdfReader(io.BytesIO(slip.content))
    assert len(pdf.pages) == 1
    text = " ".join(pdf.pages[0].extract_text().split())
    for expected in (
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ", f"Mã hồ sơ: {dossier['receipt_code']}",
        f"Sở thử nghiệm {agency}".upper(), "Nguyễn Văn An", f"Thủ tục {procedure}",
        "Viễn thông", "Trực tuyến", "09:30 ngày 11/07/2022", "17:00 ngày 14/07/2022",
        f"/tra-cuu?ma={dossier['receipt_code']}",
    ):
        assert expected in text, (expected, text)
    fonts = [font.get_object()["/BaseFont"] for font in
             pdf.pages[0]["/Resources"]["/Font"].values()]
    assert fonts and all("SourceSansPro" in font for font in fonts), fonts  # embedded, no other

    by_code = await admin.get(f"/api/v1/dossiers/{dossier['receipt_code']}/receipt")
    assert by_code.status_code == 200 and by_code.content[:5] == b"%PDF-"
    stranger = stack_api.as_("officer", "SKHAC")
    assert (await stranger.get(f"/api/v1/dossiers/{dossier['id']}/receipt")).status_code == 403
    assert (await admin.get("/api/v1/dossiers/nope/receipt")).status_code == 404
