"""The agency report as a Vietnamese page, read like a province's own CCHC report.

Plain string building, no template engine: every value that comes from data goes through
``html.escape`` (agency names are typed by people). Numbers use the Vietnamese decimal comma
and dot thousands separator (93,8; 1.234); dates read d/m/yyyy.
"""

from datetime import date
from html import escape
from typing import Any

from cchc.gateway.report_anchor import anchor_footer_text

INDEX_NAMES = {
    "PAR": "Chỉ số CCHC",
    "SIPAS": "Chỉ số SIPAS",
    "SERVICE": "Chỉ số phục vụ người dân, doanh nghiệp (Quyết định 766/QĐ-TTg)",
}
GROUP_NAMES = {"department": "sở, ban, ngành", "district": "UBND cấp huyện",
               "commune": "UBND cấp xã"}

STYLE = """
body{font-family:"Times New Roman",serif;max-width:52rem;margin:2rem auto;line-height:1.5;
color:#111;padding:0 1rem}
h1{font-size:1.3rem;text-align:center;text-transform:uppercase}
.org,.as-of{text-align:center;margin:.2rem 0}.org{font-weight:bold}
h2{font-size:1.1rem;margin-top:1.5rem}
table{border-collapse:collapse;width:100%;margin-top:.5rem}
th,td{border:1px solid #444;padding:.25rem .5rem;text-align:left}
td.n{text-align:right}
footer{margin-top:2rem;font-size:.85rem;color:#444;border-top:1px solid #999;padding-top:.5rem}
"""


def vi_number(value: float, decimals: int = 2) -> str:
    """93.8 -> "93,8"; 97.99 -> "97,99"; 1234.5 -> "1.234,5"; 100.0 -> "100"."""
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def vi_date(day: date | str) -> str:
    day = date.fromisoformat(day) if isinstance(day, str) else day
    return f"{day.day}/{day.month}/{day.year}"


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def index_sentence(item: dict[str, Any]) -> str:
    name = INDEX_NAMES.get(item["index"], f"Chỉ số {item['index']}")
    score = vi_number(item["score"])
    unit = "%" if item["index"] == "SIPAS" else " điểm"
    sentence = f"{name} năm {item['year']} đạt {score}{unit}"
    if item.get("rank") is not None and item.get("of"):
        sentence += f", xếp thứ {item['rank']}/{item['of']}"
        if group := GROUP_NAMES.get(item.get("group") or ""):
            sentence += f" {group}"
    return sentence + "."


def plan_sentence(year: int, as_of: str, plan: dict[str, Any]) -> str:
    if not plan.get("plan_id"):
        return f"Chưa có kế hoạch CCHC năm {year} trên hệ thống."
    total, completed = plan["total"], plan["completed"]
    sentence = (f"Kế hoạch CCHC năm {year} có {total} nhiệm vụ; đến ngày {vi_date(as_of)} "
                f"đã hoàn thành {completed}/{total} nhiệm vụ")
    if plan.get("completion_rate") is not None:
        sentence += f" (tỷ lệ {vi_number(plan['completion_rate'] * 100)}%)"
    if plan.get("cancelled"):
        sentence += f"; {plan['cancelled']} nhiệm vụ không thực hiện"
    if plan.get("overdue"):
        sentence += f"; {plan['overdue']} nhiệm vụ quá hạn"
    return sentence + "."


def dossier_sentence(stats: dict[str, Any]) -> str:
    received, resolved, open_ = stats["received"], stats["resolved"], stats["in_progress"]
    parts = [f"tiếp nhận {received['total']} hồ sơ"]
    if received["carried_over"]:
        parts[0] += f" (trong đó {received['carried_over']} hồ sơ kỳ trước chuyển sang)"
    timely = resolved["early"] + resolved["on_time"]
    if resolved["total"] == 0:
        parts.append("chưa giải quyết xong hồ sơ nào")
    elif resolved["late"] == 0:
        parts.append(f"đã giải quyết {timely} hồ sơ trước và đúng hạn")
    else:
        parts.append(f"đã giải quyết {resolved['total']} hồ sơ, trong đó {timely} hồ sơ trước "
                     f"và đúng hạn, {resolved['late']} hồ sơ quá hạn")
    not_due, overdue = open_["not_due"], open_["overdue"]
    if open_["total"] == 0:
        parts.append("không còn hồ sơ đang giải quyết")
    elif not_due == 0:
        parts.append(f"{overdue} hồ sơ đang giải quyết quá hạn")
    else:
        late_part = f"{overdue} hồ sơ quá hạn" if overdue else "không có hồ sơ quá hạn"
        parts.append(f"{not_due} hồ sơ đang giải quyết chưa đến hạn, {late_part}")
    if stats.get("withdrawn"):
        parts.append(f"{stats['withdrawn']} hồ sơ được rút")
    return (f"Từ ngày {vi_date(stats['from'])} đến ngày {vi_date(stats['to'])}, đơn vị "
            + "; ".join(parts) + ".")


def _dossier_table(stats: dict[str, Any]) -> str:
    received, resolved, open_ = stats["received"], stats["resolved"], stats["in_progress"]
    rows = [
        ("Tổng số hồ sơ tiếp nhận", received["total"]),
        ("— trực tuyến", received["online"]), ("— trực tiếp", received["direct"]),
        ("— qua dịch vụ bưu chính công ích", received["postal"]),
        ("— từ kỳ trước chuyển sang", received["carried_over"]),
        ("Đã giải quyết", resolved["total"]), ("— trước hạn", resolved["early"]),
        ("— đúng hạn", resolved["on_time"]), ("— quá hạn", resolved["late"]),
        ("Đang giải quyết", open_["total"]), ("— chưa đến hạn", open_["not_due"]),
        ("— quá hạn", open_["overdue"]), ("Rút hồ sơ", stats.get("withdrawn", 0)),
    ]
    rate = stats.get("on_time_rate")
    rows.append(("Tỷ lệ giải quyết trước và đúng hạn",
                 f"{vi_number(rate * 100)}%" if rate is not None else "—"))
    body = "".join(
        f"<tr><td>{_e(label)}</td><td class=\"n\">{_e(value)}</td></tr>" for label, value in rows
    )
    return f"<table><tr><th>Chỉ tiêu</th><th>Số liệu</th></tr>{body}</table>"


def render_agency_report(report: dict[str, Any]) -> str:
    year, as_of = report["year"], report["as_of"]
    organisation = report.get("agency_name") or report["agency"]
    indexes = report["indexes"]
    index_items = "".join(f"<li>{_e(index_sentence(item))}</li>" for item in indexes)
    index_part = (f"<ul>{index_items}</ul>" if indexes
                  else "<p>Chưa có kết quả chỉ số được công bố.</p>")
    procedures = (f"Đơn vị đã công bố {report['procedures_published']} thủ tục hành chính "
                  "thuộc thẩm quyền giải quyết.")
    return f"""<!doctype html>
<html lang="vi">
<head>
<meta charset="utf-8">
<title>{_e(f"Báo cáo CCHC năm {year} — {organisation}")}</title>
<style>{STYLE}</style>
</head>
<body>
<main>
<p class="org">{_e(organisation)}</p>
<h1>{_e(f"Báo cáo kết quả thực hiện công tác cải cách hành chính năm {year}")}</h1>
<p class="as-of">{_e(f"Số liệu tính đến ngày {vi_date(as_of)}")}</p>
<h2>1. Kết quả chỉ số cải cách hành chính</h2>
{index_part}
<h2>{_e(f"2. Thực hiện kế hoạch cải cách hành chính năm {year}")}</h2>
<p>{_e(plan_sentence(year, as_of, report["plan"]))}</p>
<h2>3. Cải cách thủ tục hành chính</h2>
<p>{_e(procedures)}</p>
<p>{_e(dossier_sentence(report["dossiers"]))}</p>
{_dossier_table(report["dossiers"])}
</main>
<footer class="anchor">{_e(anchor_footer_text(report.get("anchor")))}</footer>
</body>
</html>
"""
