"""An agency's alert digest as an email and as a webhook's JSON: pure, from the alerts answer."""

from datetime import datetime
from email.message import EmailMessage
from typing import Any

from cchc.contracts.localtime import LOCAL_TZ

KIND_TITLES = {
    "overdue": "Hồ sơ đã quá hạn giải quyết",
    "due_today": "Hồ sơ đến hạn giải quyết hôm nay",
    "due_tomorrow": "Hồ sơ đến hạn vào ngày làm việc tiếp theo",
}


def vi_day(iso: str) -> str:
    year, month, day = iso.split("-")
    return f"{day}/{month}/{year}"


def vi_time(iso: str) -> str:
    moment = datetime.fromisoformat(iso).astimezone(LOCAL_TZ)
    return moment.strftime("%H:%M %d/%m/%Y")


def digest_payload(day: dict[str, Any], agency: dict[str, Any], name: str) -> dict[str, Any]:
    """The webhook's body and the live event's data: one agency's alerts on one day."""
    return {
        "type": "DossierAlerts", "day": day["day"], "next_working_day": day["next_working_day"],
        "agency": agency["agency"], "agency_name": name, "count": agency["count"],
        "overdue": agency["overdue"], "due_today": agency["due_today"],
        "due_tomorrow": agency["due_tomorrow"],
    }


def digest_email(payload: dict[str, Any], sender: str, recipients: list[str]) -> EmailMessage:
    """The digest as a plain-text Vietnamese email."""
    message = EmailMessage()
    # One line: a name typed with a line break would make the header refused, the mail unsent.
    name = " ".join(str(payload["agency_name"]).split())
    message["Subject"] = (f"[CCHC] {name}: {payload['count']} hồ sơ cần chú ý "
                          f"ngày {vi_day(payload['day'])}")
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    lines = [
        f"Kính gửi {payload['agency_name']},",
        "",
        f"Ngày {vi_day(payload['day'])}, cơ quan có {payload['count']} hồ sơ cần chú ý "
        f"(ngày làm việc tiếp theo: {vi_day(payload['next_working_day'])}).",
    ]
    for kind in ("overdue", "due_today", "due_tomorrow"):
        items = payload[kind]
        lines += ["", f"{KIND_TITLES[kind]}: {len(items)}"]
        for number, item in enumerate(items, start=1):
            lines.append(
                f"  {number}. Hồ sơ {item.get('receipt_code') or item['id']} — "
                f"{item['procedure_name'] or item['procedure']}"
                f" — người nộp: {item['applicant_name'] or 'không rõ'} — hạn: "
                f"{vi_time(item['due_at'])}")
    lines += ["", "Thư này được gửi tự động từ hệ thống theo dõi cải cách hành chính "
                  "(CCHC Ledger)."]
    message.set_content("\n".join(lines))
    return message
