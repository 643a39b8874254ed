"""One realistic sample of every event type, as it travels (JSON), at its current version.

They are the examples of the AsyncAPI document, and the tests decode each one (in a fresh
environment holding only this package and pydantic) and validate it against the published JSON
schema. A new event type needs a sample here; ``SAMPLE_OLD_VERSIONS`` holds payloads of older
schema versions, which readers upcast.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from cchc.contracts import dossier, planning, scoring  # noqa: F401 - registers every event type
from cchc.contracts.envelope import GENESIS_HASH, EventEnvelope
from cchc.contracts.events import event_model
from cchc.contracts.subjects import PROVINCE, event_subject

AGENCY = "STTTT"  # Sở Thông tin và Truyền thông
DOSSIER_ID = "01J8Z3V7Q2A4B6C8D0E2F4G6H8"
PLAN_ID = "01J8Z3W0000000000000000PLN"
TASK_ID = "01J8Z3W0000000000000000TSK"
INSPECTION_ID = "01J8Z3W0000000000000000INS"
FINDING_ID = "01J8Z3W0000000000000000FND"
ASSESSMENT_ID = "01J8Z3W0000000000000000ASM"
FRAMEWORK = "PAR-2024-SO"
RECORDED_AT = datetime(2024, 3, 4, 9, 30, tzinfo=timezone(timedelta(hours=7)))


@dataclass(frozen=True)
class Sample:
    """A sample event: its type, the subject's agency and aggregate, its payload and version."""

    event_type: str
    agency: str
    aggregate_id: str
    payload: dict[str, Any]
    version: int | None = None  # None: the type's current version

    def schema_version(self) -> int:
        return self.version or event_model(self.event_type).schema_version

    def envelope(self, aggregate_version: int = 1, prev_hash: str = GENESIS_HASH) -> EventEnvelope:
        """The sample as stored: in its envelope, sealed into a hash chain."""
        model = event_model(self.event_type)
        return EventEnvelope(
            event_id=f"sample-{self.event_type}-v{self.schema_version()}",
            type=self.event_type, schema_version=self.schema_version(), context=model.context,
            agency=self.agency, aggregate_id=self.aggregate_id,
            aggregate_version=aggregate_version, occurred_at=RECORDED_AT,
            recorded_at=RECORDED_AT, actor="officer-STTTT", correlation_id="req-7f3a",
            payload=self.payload,
        ).sealed(prev_hash)

    def subject(self) -> str:
        return event_subject(event_model(self.event_type).context, self.agency, self.aggregate_id)


SAMPLES: list[Sample] = [
    # --- dossier -----------------------------------------------------------------------------
    Sample("AgencyRegistered", AGENCY, f"agency-{AGENCY}", {
        "code": AGENCY, "name": "Sở Thông tin và Truyền thông", "group": "department"}),
    Sample("ProcedurePublished", AGENCY, "01J8Z3W0000000000000000PRC", {
        "code": "1.003957", "name": "Cấp giấy phép hoạt động in", "agency": AGENCY,
        "field": "Xuất bản, In và Phát hành", "processing_days": 5, "online_level": "full",
        "published_at": "2024-01-02T08:00:00+07:00", "published_on": "2023-12-28"}),
    Sample("CalendarDayDeclared", PROVINCE, "calendar", {
        "date": "2024-04-29", "kind": "day_off", "note": "Nghỉ bù lễ 30/4"}),
    Sample("YearArchived", PROVINCE, "archive-2022-1", {
        "year": 2022, "generation": 1, "events": 3_912_004, "aggregates": 998_311,
        "first_position": 1, "last_position": 4_310_977, "sha256": "5" * 64,
        "segment_hash": "7" * 64, "heads_hash": "9" * 64}),
    Sample("YearRestored", PROVINCE, "archive-2022-1", {
        "year": 2022, "generation": 1, "events": 3_912_004}),
    Sample("DossierReceived", AGENCY, DOSSIER_ID, {
        "dossier_id": DOSSIER_ID, "agency": AGENCY, "procedure": "1.003957", "channel": "online",
        "received_at": "2024-03-04T09:30:00+07:00", "receipt_day": "2024-03-04",
        "processing_days": 5, "due_at": "2024-03-11T17:00:00+07:00",
        "applicant": {"name": "Nguyễn Thị Hương", "phone": "0912345678"},
        "receipt_code": f"{AGENCY}-240304-0001"}),
    Sample("SupplementRequested", AGENCY, DOSSIER_ID, {
        "requested_at": "2024-03-05T10:00:00+07:00", "reason": "Thiếu bản sao giấy phép kinh doanh"}),
    Sample("DossierSupplemented", AGENCY, DOSSIER_ID, {
        "supplemented_at": "2024-03-07T14:00:00+07:00", "restart_day": "2024-03-07",
        "due_at": "2024-03-14T17:00:00+07:00"}),
    Sample("DossierExtended", AGENCY, DOSSIER_ID, {
        "extended_at": "2024-03-14T08:00:00+07:00", "new_due_at": "2024-03-18T17:00:00+07:00",
        "reason": "Cần xác minh thêm tại cơ sở in"}),
    Sample("DossierResolved", AGENCY, DOSSIER_ID, {
        "resolved_at": "2024-03-13T16:00:00+07:00", "outcome": "approved",
        "due_at": "2024-03-14T17:00:00+07:00", "timeliness": "early", "reason": ""}),
    Sample("ResultReturned", AGENCY, DOSSIER_ID, {"returned_at": "2024-03-14T09:00:00+07:00"}),
    Sample("DossierWithdrawn", AGENCY, DOSSIER_ID, {
        "withdrawn_at": "2024-03-06T11:00:00+07:00", "reason": "Công dân xin rút hồ sơ"}),
    # --- planning ----------------------------------------------------------------------------
    Sample("PlanIssued", AGENCY, PLAN_ID, {
        "plan_id": PLAN_ID, "agency": AGENCY, "year": 2024, "title": "Kế hoạch CCHC năm 2024",
        "issued_at": "2024-01-05T08:00:00+07:00"}),
    Sample("TaskAdded", AGENCY, TASK_ID, {
        "task_id": TASK_ID, "plan_id": PLAN_ID, "agency": AGENCY, "year": 2024,
        "title": "Số hóa kết quả giải quyết TTHC", "area": "digital_government",
        "due_date": "2024-06-30", "owner": "Văn phòng Sở", "added_at": "2024-01-05T08:10:00+07:00",
        "finding_id": None}),
    Sample("TaskProgressReported", AGENCY, TASK_ID, {
        "reported_at": "2024-03-31T17:00:00+07:00", "percent": 40, "note": "Đã số hóa 40%"}),
    Sample("TaskCompleted", AGENCY, TASK_ID, {
        "completed_at": "2024-06-20T16:00:00+07:00", "due_date": "2024-06-30", "on_time": True,
        "evidence": ["https://stttt.example.gov.vn/bao-cao-so-hoa.pdf"]}),
    Sample("TaskCancelled", AGENCY, TASK_ID, {
        "cancelled_at": "2024-05-02T08:00:00+07:00", "reason": "Gộp vào nhiệm vụ khác"}),
    Sample("TaskRescheduled", AGENCY, TASK_ID, {
        "rescheduled_at": "2024-05-02T08:00:00+07:00", "new_due_date": "2024-09-30",
        "reason": "Chờ nâng cấp hệ thống"}),
    Sample("InspectionOpened", AGENCY, INSPECTION_ID, {
        "inspection_id": INSPECTION_ID, "agency": AGENCY, "inspected_on": "2024-07-15",
        "team_lead": "Trần Văn Nam", "scope": "Công tác CCHC 6 tháng đầu năm"}),
    Sample("FindingRecorded", AGENCY, INSPECTION_ID, {
        "finding_id": FINDING_ID, "inspection_id": INSPECTION_ID, "agency": AGENCY,
        "inspected_on": "2024-07-15", "kind": "shortcoming",
        "text": "Tỷ lệ hồ sơ trực tuyến toàn trình còn thấp",
        "remediation": {"title": "Tăng tỷ lệ hồ sơ trực tuyến", "area": "digital_government",
                        "due_date": "2024-12-31"},
        "recorded_at": "2024-07-15T16:00:00+07:00"}),
    # --- scoring -----------------------------------------------------------------------------
    Sample("FrameworkDefined", PROVINCE, FRAMEWORK, {
        "code": FRAMEWORK, "index": "PAR", "year": 2024, "group": "department",
        "title": "Bộ chỉ số CCHC các sở, ban, ngành năm 2024", "max_score": 100.0,
        "criteria": [
            {"code": "1.1", "title": "Ban hành kế hoạch CCHC", "area": "direction",
             "max_points": 1.0, "method": "manual", "metric": None, "bands": [],
             "threshold": None, "note": ""},
            {"code": "1.2", "title": "Mức độ hoàn thành kế hoạch CCHC", "area": "direction",
             "max_points": 2.0, "method": "auto", "metric": "plan.completion_rate",
             "bands": [{"min_rate": 0.9, "points": 2.0}, {"min_rate": 0.7, "points": 1.0}],
             "threshold": None, "note": ""},
        ],
        "template": False, "note": "", "defined_at": "2024-01-10T08:00:00+07:00"}),
    Sample("AssessmentOpened", AGENCY, ASSESSMENT_ID, {
        "assessment_id": ASSESSMENT_ID, "framework": FRAMEWORK, "index": "PAR", "year": 2024,
        "group": "department", "agency": AGENCY, "opened_at": "2024-11-01T08:00:00+07:00"}),
    Sample("SelfScoresSubmitted", AGENCY, ASSESSMENT_ID, {
        "scores": {"1.1": 1.0}, "evidence": {"1.1": ["https://stttt.example.gov.vn/kh-cchc.pdf"]},
        "submitted_at": "2024-11-15T08:00:00+07:00"}),
    Sample("AppraisalRecorded", AGENCY, ASSESSMENT_ID, {
        "scores": {"1.1": 0.5}, "notes": "Kế hoạch ban hành chậm",
        "recorded_at": "2024-12-10T08:00:00+07:00"}),
    Sample("SurveyRecorded", AGENCY, ASSESSMENT_ID, {
        "criterion": "8.1", "respondents": 120, "satisfied": 108,
        "questions": [{"respondents": 60, "satisfied": 55}, {"respondents": 60, "satisfied": 53}],
        "recorded_at": "2024-12-01T08:00:00+07:00"}),
    Sample("AssessmentFinished", AGENCY, ASSESSMENT_ID, {
        "score": 2.5, "max_score": 3.0, "percent": 83.33,
        "criteria": [
            {"code": "1.1", "max_points": 1.0, "self": 1.0, "appraised": 0.5, "survey": None,
             "auto": None, "final": 0.5, "explanation": None},
            {"code": "1.2", "max_points": 2.0, "self": None, "appraised": None, "survey": None,
             "auto": 2.0, "final": 2.0,
             "explanation": {"metric": "plan.completion_rate", "value": 0.95}},
        ],
        "finished_at": "2024-12-20T08:00:00+07:00"}),
    Sample("IndexResultRecorded", AGENCY, "PAR-2023-STTTT", {
        "index": "PAR", "year": 2023, "agency": AGENCY, "score": 87.45, "group": "department",
        "published_on": "2024-05-20", "recorded_at": "2024-05-21T08:00:00+07:00"}),
]

# Payloads of older schema versions, as stored before their type's current version existed.
SAMPLE_OLD_VERSIONS: list[Sample] = [
    Sample("DossierResolved", AGENCY, DOSSIER_ID, {
        "resolved_at": "2023-03-13T16:00:00+07:00", "outcome": "rejected",
        "due_at": "2023-03-14T17:00:00+07:00", "timeliness": "early"}, version=1),
]
