"""The anchor a report names: the newest signed anchor when the report is made, as the report's
JSON field ``anchor`` and its footer line. With its short fingerprint, an inspector can later
check (``cchc verify --anchor``) that the log the figures came from is still the one anchored."""

from typing import Any
from zoneinfo import ZoneInfo

from cchc.contracts.anchors import short_fingerprint
from cchc.runtime.anchor_log import AnchorLog
from nats.aio.client import Client as NATS

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")
STREAM_NAMES_VI = {"DOSSIER": "hồ sơ", "PLANNING": "kế hoạch", "SCORING": "chỉ số"}


async def report_anchor(nc: NATS) -> dict[str, Any] | None:
    """The newest anchor, summarised; None before the first one."""
    newest = await AnchorLog(nc).newest()
    if newest is None:
        return None
    position, anchor = newest
    fingerprint = anchor.fingerprint()
    return {"fingerprint": fingerprint, "short_fingerprint": short_fingerprint(fingerprint),
            "position": position, "signed_at": anchor.signed_at.isoformat(),
            "heads": {head.stream: head.last_seq for head in anchor.heads}}


def anchor_footer_text(anchor: dict[str, Any] | None) -> str:
    """The report's footer line, in Vietnamese."""
    if anchor is None:
        return ("Chưa có mốc kiểm chứng nhật ký: mốc được ký định kỳ; số liệu ghi sau đó sẽ "
                "được neo ở mốc đầu tiên.")
    from datetime import datetime

    signed = datetime.fromisoformat(anchor["signed_at"]).astimezone(LOCAL)
    heads = ", ".join(f"{STREAM_NAMES_VI.get(stream, stream)} đến vị trí {last:,}".replace(",", ".")
                      for stream, last in anchor["heads"].items())
    return (f"Mốc kiểm chứng nhật ký: {anchor['short_fingerprint']} (ký lúc "
            f"{signed:%H:%M} ngày {signed.day}/{signed.month}/{signed.year}; {heads}). Sự kiện "
            "ghi sau mốc này được neo ở mốc kế tiếp.")
