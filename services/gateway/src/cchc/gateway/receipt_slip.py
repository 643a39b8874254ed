"""The receipt slip (giấy tiếp nhận hồ sơ và hẹn trả kết quả) as a PDF: pure, answer -> bytes.

What the citizen takes home: the agency, the procedure, the applicant, when the dossier was
received, when to come back for the result, the receipt code and a QR code of the public lookup
address. Set in Source Sans Pro (every Vietnamese diacritic), embedded in the file.
"""

import io
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import font_source_sans_pro
from reportlab.graphics.barcode import qrencoder
from reportlab.lib.pagesizes import A5
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from cchc.contracts.localtime import LOCAL_TZ

REGULAR, BOLD, ITALIC = "SourceSansPro", "SourceSansPro-Bold", "SourceSansPro-It"
CHANNELS = {"online": "Trực tuyến", "direct": "Trực tiếp", "postal": "Qua dịch vụ bưu chính"}
QR_SIZE = 32 * mm


@cache
def _fonts() -> None:
    files = Path(font_source_sans_pro.font_directory)
    for name, file in ((REGULAR, "SourceSansPro-Regular.ttf"),
                       (BOLD, "SourceSansPro-Bold.ttf"), (ITALIC, "SourceSansPro-It.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(files / file)))


def vietnamese_time(value: str | None) -> str:
    """"09:30 ngày 11/07/2022" in Vietnam's time."""
    if not value:
        return "–"
    moment = datetime.fromisoformat(value).astimezone(LOCAL_TZ)
    return f"{moment:%H:%M} ngày {moment:%d/%m/%Y}"


def lookup_address(base_url: str, receipt_code: str) -> str:
    return f"{base_url.rstrip('/')}/tra-cuu?ma={receipt_code}"


def render_receipt_slip(slip: dict[str, Any], lookup_url: str) -> bytes:
    """The slip of one dossier (the dossier service's ``receipt-slip`` answer)."""
    _fonts()
    out = io.BytesIO()
    width, height = A5
    pdf = Canvas(out, pagesize=A5, pageCompression=1, initialFontName=REGULAR)
    pdf.setTitle(f"Giấy tiếp nhận hồ sơ {slip.get('receipt_code') or slip['id']}")
    pdf.setAuthor(slip["agency_name"])
    left, right = 14 * mm, width - 14 * mm

    y = height - 16 * mm
    pdf.setFont(BOLD, 8.5)
    for index, part in enumerate(_wrapped(slip["agency_name"].upper(), BOLD, 8.5, 48 * mm)[:3]):
        pdf.drawCentredString(left + 24 * mm, y - index * 4 * mm, part)
    pdf.setFont(BOLD, 9)
    pdf.drawCentredString(right - 34 * mm, y, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
    y -= 4.5 * mm
    pdf.drawCentredString(right - 34 * mm, y, "Độc lập - Tự do - Hạnh phúc")
    pdf.setFont(ITALIC, 9)
    received = datetime.fromisoformat(slip["received_at"]).astimezone(LOCAL_TZ)
    y -= 6 * mm
    pdf.drawCentredString(right - 34 * mm, y,
                          f"Ngày {received:%d} tháng {received:%m} năm {received:%Y}")

    y -= 12 * mm
    pdf.setFont(BOLD, 13)
    pdf.drawCentredString(width / 2, y, "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ")
    y -= 6 * mm
    pdf.setFont(BOLD, 11)
    pdf.drawCentredString(width / 2, y, f"Mã hồ sơ: {slip.get('receipt_code') or slip['id']}")

    applicant = slip.get("applicant") or {}
    lines = [
        ("Tiếp nhận hồ sơ của", applicant.get("name", "–")),
        ("Số điện thoại", applicant.get("phone", "–")),
        ("Thủ tục", slip["procedure_name"]),
        ("Mã thủ tục", slip["procedure"]),
        ("Lĩnh vực", slip["field"]),
        ("Hình thức nộp", CHANNELS.get(slip["channel"], slip["channel"])),
        ("Thời gian tiếp nhận", vietnamese_time(slip["received_at"])),
        ("Hẹn trả kết quả", vietnamese_time(slip.get("appointment_at") or slip.get("due_at"))),
    ]
    y -= 10 * mm
    for label, value in lines:
        pdf.setFont(REGULAR, 10)
        pdf.drawString(left, y, f"{label}:")
        pdf.setFont(BOLD, 10)
        for part in _wrapped(str(value), BOLD, 10, right - left - 38 * mm):
            pdf.drawString(left + 38 * mm, y, part)
            y -= 5.5 * mm

    y -= 2 * mm
    _draw_qr(pdf, lookup_url, left, y - QR_SIZE)
    pdf.setFont(REGULAR, 8.5)
    pdf.drawString(left + QR_SIZE + 4 * mm, y - 8 * mm, "Tra cứu tình trạng hồ sơ tại:")
    pdf.setFont(BOLD, 8.5)
    pdf.drawString(left + QR_SIZE + 4 * mm, y - 13 * mm, lookup_url)
    pdf.setFont(ITALIC, 8.5)
    pdf.drawString(left + QR_SIZE + 4 * mm, y - 18 * mm,
                   "Khi đến nhận kết quả, vui lòng mang theo giấy này.")
    pdf.setFont(BOLD, 10)
    pdf.drawCentredString(right - 28 * mm, y - QR_SIZE - 6 * mm, "NGƯỜI TIẾP NHẬN HỒ SƠ")
    pdf.setFont(ITALIC, 8.5)
    pdf.drawCentredString(right - 28 * mm, y - QR_SIZE - 10 * mm, "(Ký và ghi rõ họ tên)")
    pdf.showPage()
    pdf.save()
    return out.getvalue()


def _draw_qr(pdf: Canvas, text: str, x: float, y: float) -> None:
    """A QR code of ``text`` (error correction M), QR_SIZE wide, its lower left at (x, y)."""
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(text)
    code.make()
    count = code.getModuleCount()
    module = QR_SIZE / (count + 8)  # a quiet zone of four modules on each side
    for row in range(count):
        for column in range(count):
            if code.isDark(row, column):
                pdf.rect(x + (column + 4) * module, y + QR_SIZE - (row + 5) * module,
                         module, module, stroke=0, fill=1)


def _wrapped(text: str, font: str, size: float, width: float) -> list[str]:
    """The words of ``text`` in lines no wider than ``width``."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if line and pdfmetrics.stringWidth(candidate, font, size) > width:
            lines.append(line)
            line = word
        else:
            line = candidate
    return [*lines, line] if line else lines or ["–"]
