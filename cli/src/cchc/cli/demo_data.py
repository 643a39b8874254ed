"""A realistic province to look at: its departments, their procedures, a year of dossiers, plans
and published indexes. Pure: what to send, decided by a seeded random generator; no I/O.

The dossier's fate (resolved early, on its due date, late, withdrawn, still open) is decided
here; when to resolve it depends on the due date the service computed, so it is a rule applied
to the receipt's answer (``resolution_time``).
"""

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from cchc.contracts.localtime import LOCAL_TZ

# code, name: the departments and sector agencies of a typical province (20, one ranking group).
DEPARTMENTS = [
    ("SNV", "Sở Nội vụ"),
    ("STP", "Sở Tư pháp"),
    ("SKHDT", "Sở Kế hoạch và Đầu tư"),
    ("STC", "Sở Tài chính"),
    ("SCT", "Sở Công Thương"),
    ("SNNPTNT", "Sở Nông nghiệp và Phát triển nông thôn"),
    ("SGTVT", "Sở Giao thông vận tải"),
    ("SXD", "Sở Xây dựng"),
    ("STNMT", "Sở Tài nguyên và Môi trường"),
    ("STTTT", "Sở Thông tin và Truyền thông"),
    ("SLDTBXH", "Sở Lao động - Thương binh và Xã hội"),
    ("SVHTTDL", "Sở Văn hóa, Thể thao và Du lịch"),
    ("SKHCN", "Sở Khoa học và Công nghệ"),
    ("SGDDT", "Sở Giáo dục và Đào tạo"),
    ("SYT", "Sở Y tế"),
    ("TTT", "Thanh tra tỉnh"),
    ("VPUBND", "Văn phòng Ủy ban nhân dân tỉnh"),
    ("BDT", "Ban Dân tộc"),
    ("SNGV", "Sở Ngoại vụ"),
    ("BQLKCN", "Ban Quản lý các khu công nghiệp"),
]

# name, field, processing days, online level
PROCEDURES = [
    ("Cấp giấy phép hoạt động", "Cấp phép", 10, "full"),
    ("Cấp lại giấy chứng nhận", "Cấp phép", 5, "full"),
    ("Thẩm định hồ sơ đề nghị công nhận", "Thẩm định", 15, "partial"),
    ("Gia hạn giấy phép", "Cấp phép", 7, "partial"),
    ("Xác nhận đăng ký", "Đăng ký", 3, "none"),
]

TASKS = [
    ("direction", "Ban hành kế hoạch CCHC và kế hoạch tuyên truyền CCHC năm"),
    ("direction", "Kiểm tra công tác CCHC tại các phòng, đơn vị trực thuộc"),
    ("institutions", "Rà soát, hệ thống hóa văn bản quy phạm pháp luật thuộc lĩnh vực quản lý"),
    ("procedures", "Rà soát, đơn giản hóa thủ tục hành chính"),
    ("procedures", "Công khai thủ tục hành chính trên Cổng dịch vụ công của tỉnh"),
    ("apparatus", "Rà soát chức năng, nhiệm vụ của các phòng chuyên môn"),
    ("civil_service", "Cập nhật đề án vị trí việc làm"),
    ("civil_service", "Đào tạo, bồi dưỡng công chức năm"),
    ("public_finance", "Thực hiện cơ chế tự chủ tài chính của đơn vị sự nghiệp"),
    ("digital_government", "Số hóa hồ sơ, kết quả giải quyết thủ tục hành chính"),
    ("digital_government", "Triển khai thanh toán trực tuyến phí, lệ phí"),
    ("digital_government", "Vận hành hệ thống quản lý văn bản và điều hành"),
]

SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng"]
MIDDLE = ["Văn", "Thị", "Minh", "Thanh", "Đức", "Ngọc", "Hữu", "Thu"]
GIVEN = ["An", "Bình", "Chi", "Dũng", "Hà", "Hải", "Hương", "Lan", "Long", "Mai", "Nam", "Tâm"]


class Fate(StrEnum):
    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"
    WITHDRAWN = "withdrawn"
    OPEN = "open"


@dataclass(frozen=True)
class DossierPlan:
    procedure: str
    channel: str
    received_at: datetime
    applicant: str
    fate: Fate
    delay: float  # in [0, 1): where in its window the resolution falls


@dataclass(frozen=True)
class TaskPlan:
    area: str
    title: str
    due_date: date
    completed_at: datetime | None


@dataclass(frozen=True)
class AgencyPlan:
    code: str
    name: str
    procedures: list[dict]
    dossiers: list[DossierPlan]
    tasks: list[TaskPlan]
    par: float
    sipas: float


def procedure_code(agency: str, index: int) -> str:
    return f"DEMO.{agency}.{index + 1:02d}"


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LOCAL_TZ)


def province(today: date, dossiers_per_agency: int, seed: int = 2026) -> list[AgencyPlan]:
    """The province's year up to ``today`` (its dossiers, plan and last year's indexes)."""
    rng = random.Random(seed)
    start = date(today.year, 1, 2)
    span = max((today - start).days, 1)
    agencies = []
    for code, name in DEPARTMENTS:
        procedures = [
            {"code": procedure_code(code, i), "name": f"{title} ({name})", "agency": code,
             "field": field, "processing_days": days, "online_level": level}
            for i, (title, field, days, level) in enumerate(PROCEDURES[: rng.randint(3, 5)])
        ]
        # The better an agency serves, the fewer late dossiers and the higher its indexes.
        quality = rng.random()
        dossiers = []
        for _ in range(dossiers_per_agency):
            day = start + timedelta(days=int(span * rng.random() ** 0.8))
            received = local(day, rng.randint(7, 16), rng.choice((0, 15, 30, 45)))
            roll = rng.random()
            late_share = 0.02 + 0.12 * (1 - quality)
            fate = (Fate.WITHDRAWN if roll < 0.02 else Fate.LATE if roll < 0.02 + late_share
                    else Fate.ON_TIME if roll < 0.2 + late_share else Fate.EARLY)
            if rng.random() < 0.05:
                fate = Fate.OPEN  # still being handled; overdue if its due date has passed
            dossiers.append(DossierPlan(
                procedure=rng.choice(procedures)["code"],
                channel=rng.choices(("online", "direct", "postal"), (0.6, 0.35, 0.05))[0],
                received_at=received, applicant=_person(rng), fate=fate, delay=rng.random(),
            ))
        dossiers.sort(key=lambda d: d.received_at)
        tasks = []
        for area, title in TASKS:
            due = date(today.year, rng.randint(3, 12), rng.randint(1, 28))
            completed = None
            if due <= today and rng.random() < 0.75 + 0.2 * quality:
                done = due - timedelta(days=rng.randint(-10, 30))  # a few finish after their date
                completed = local(min(max(done, start), today - timedelta(days=1)), 16)
            elif due > today and rng.random() < 0.3:
                completed = local(today - timedelta(days=rng.randint(1, 60)), 10)
            tasks.append(TaskPlan(area=area, title=f"{title} {today.year}", due_date=due,
                                  completed_at=completed))
        agencies.append(AgencyPlan(
            code=code, name=name, procedures=procedures, dossiers=dossiers, tasks=tasks,
            par=round(78 + 18 * quality + rng.uniform(-2, 2), 2),
            sipas=round(86 + 12 * quality + rng.uniform(-1.5, 1.5), 2),
        ))
    return agencies


def _person(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def resolution_time(dossier: DossierPlan, due_at: datetime, now: datetime) -> datetime | None:
    """When the dossier is resolved (or withdrawn) by its fate and the due date the service
    computed; None when it stays open, or when the time would be in the future."""
    due_at = due_at.astimezone(LOCAL_TZ)
    received = dossier.received_at
    if dossier.fate is Fate.OPEN:
        return None
    if dossier.fate is Fate.ON_TIME:
        when = local(due_at.date(), 9 + int(dossier.delay * 7))
    elif dossier.fate is Fate.LATE:
        when = local(due_at.date() + timedelta(days=1 + int(dossier.delay * 10)), 10)
    else:  # early or withdrawn: strictly before the due date
        latest = local(due_at.date(), 0) - timedelta(hours=1)
        window = max((latest - received).total_seconds(), 0)
        when = received + timedelta(seconds=60 + window * dossier.delay)
        if when.date() >= due_at.date():
            when = received + timedelta(minutes=30)
    when = max(when, received + timedelta(minutes=30))
    return when if when < now else None
