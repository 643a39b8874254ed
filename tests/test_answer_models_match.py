"""The answer models in contracts describe what the running system answers, exactly.

Against the real stack: each GET and POST of the API is called on real objects, and every answer
must survive ``Model.model_validate(body).model_dump(mode="json")`` unchanged (same keys, same
values, same JSON types: an int stays an int), declare every field it carries (nothing left to
``extra``), and declare each field API.md documents for it.
"""

import re
import types
import typing
from pathlib import Path
from typing import Any, Union

import httpx
import pytest
from pydantic import BaseModel

from api_steps import act, framework_body, one_of_each, receive, unique
from cchc.contracts import gateway_views as g
from cchc.contracts.answers import ANSWERS

API_MD = Path("/work/shared/API.md")

# Fields API.md documents for an answer (dotted: a nested model's field; a list's or dict's
# item fields after its name).
DOCUMENTED: dict[tuple[str, str], list[str]] = {
    ("dossier", "receive-dossier"): ["id", "agency", "procedure", "status", "received_at",
                                     "due_at", "version", "late_entry", "receipt_code",
                                     "timeliness_766"],
    ("dossier", "get-dossier"): ["id", "agency", "procedure", "channel", "status",
                                 "received_at", "due_at", "appointment_at", "resolved_at",
                                 "timeliness", "version", "history", "late_entry", "receipt_code",
                                 "timeliness_766"],
    ("dossier", "list-dossiers"): ["items", "next_cursor"],
    ("dossier", "list-agencies"): ["items", "next_cursor", "items.code", "items.name",
                                   "items.group"],
    ("dossier", "list-procedures"): ["items", "next_cursor", "items.code", "items.name",
                                     "items.agency", "items.field", "items.processing_days",
                                     "items.online_level"],
    ("dossier", "register-agency"): ["code", "name", "group"],
    ("dossier", "publish-procedure"): ["code", "name", "agency", "field", "processing_days",
                                       "online_level"],
    ("dossier", "declare-calendar-day"): ["date", "kind", "note"],
    ("dossier", "dossier-stats"): [
        "agency", "from", "to", "received.total", "received.online", "received.direct",
        "received.postal", "received.carried_over", "resolved.total", "resolved.early",
        "resolved.on_time", "resolved.late", "in_progress.total", "in_progress.not_due",
        "in_progress.overdue", "withdrawn", "on_time_rate", "by_agency", "late_entries"],
    ("planning", "issue-plan"): ["id"],
    ("planning", "add-task"): ["id"],
    ("planning", "open-inspection"): ["id"],
    ("planning", "list-plans"): ["items", "next_cursor"],
    ("planning", "plan-progress"): [
        "total", "completed", "completed_on_time", "completed_late", "in_progress", "overdue",
        "cancelled", "completion_rate", "by_area.total", "by_area.completed"],
    ("scoring", "define-framework"): [
        "code", "index", "year", "group", "max_score", "criteria.code", "criteria.title",
        "criteria.area", "criteria.max_points", "criteria.method", "criteria.metric",
        "criteria.bands"],
    ("scoring", "open-assessment"): ["id"],
    ("scoring", "get-assessment"): [
        "framework", "agency", "score", "criteria.code", "criteria.max_points", "criteria.self",
        "criteria.appraised", "criteria.auto", "criteria.final"],
    ("scoring", "record-index-result"): ["index", "year", "agency", "score"],
    ("scoring", "rankings"): ["index", "year", "group", "of", "items.agency", "items.score",
                              "items.rank", "items.group"],
    ("gateway", "agency-report"): [
        "agency", "year", "as_of", "plan.total", "plan.completed", "dossiers.received.total",
        "dossiers.on_time_rate", "procedures_published", "indexes.index", "indexes.year",
        "indexes.score", "indexes.rank", "indexes.of"],
    ("gateway", "events"): ["items", "next_cursor"],
    ("gateway", "audit"): ["valid", "events", "head_hash"],
}

# API.md's additions of 29/11 that no service answers yet: the models cannot declare them without
# adding them to answers that lack them. The test checks they are still absent, so this list
# goes when they are answered (and the models then declare them).
NOT_ANSWERED_YET: dict[tuple[str, str], list[str]] = {
}

# Endpoints the gateway asks for its own assembly (the agency report), with no route of their own.
INTERNAL = {("dossier", "procedures-published"), ("planning", "plan-of"), ("dossier", "receipt-slip"),
            ("dossier", "dossier-stats-by-field")}  # merged into dossier-stats?by=field

GATEWAY_ANSWERS: dict[tuple[str, str], type[BaseModel]] = {
    ("gateway", "agency-report"): g.AgencyReport,
    ("gateway", "audit"): g.ChainAudit,
    ("gateway", "health"): g.Health,
    ("gateway", "me"): g.CallerView,
    ("gateway", "events"): g.EventPage,
}


# --- checks -----------------------------------------------------------------------------------


def same_json(left: Any, right: Any, where: str = "") -> list[str]:
    """Differences between two JSON values, JSON types included (1 is not 1.0, nor True)."""
    if type(left) is not type(right):
        return [f"{where or '.'}: {left!r} ({type(left).__name__}) != {right!r} "
                f"({type(right).__name__})"]
    if isinstance(left, dict):
        if left.keys() != right.keys():
            return [f"{where or '.'}: keys {sorted(left)} != {sorted(right)}"]
        return [d for k in left for d in same_json(left[k], right[k], f"{where}.{k}")]
    if isinstance(left, list):
        if len(left) != len(right):
            return [f"{where or '.'}: {len(left)} items != {len(right)}"]
        return [d for i, (a, b) in enumerate(zip(left, right)) for d in
                same_json(a, b, f"{where}[{i}]")]
    return [] if left == right else [f"{where or '.'}: {left!r} != {right!r}"]


def undeclared(model: BaseModel, where: str = "") -> list[str]:
    """Fields an answer carried that its model does not declare (they went to ``extra``)."""
    found = [f"{where}.{k}" for k in (model.model_extra or {})]
    for name in type(model).model_fields:
        found += _undeclared_in(getattr(model, name), f"{where}.{name}")
    return found


def _undeclared_in(value: Any, where: str) -> list[str]:
    if isinstance(value, BaseModel):
        return undeclared(value, where)
    if isinstance(value, list):
        return [d for i, v in enumerate(value) for d in _undeclared_in(v, f"{where}[{i}]")]
    if isinstance(value, dict):
        return [d for k, v in value.items() for d in _undeclared_in(v, f"{where}.{k}")]
    return []


def _inner_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside X, X | None, list[X] or dict[str, X], if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (Union, types.UnionType, list, dict):
        for arg in typing.get_args(annotation):
            if (inner := _inner_model(arg)) is not None:
                return inner
    return None


def declares(model: type[BaseModel], dotted: str) -> bool:
    head, _, rest = dotted.partition(".")
    for name, field in model.model_fields.items():
        if head in (name, field.alias, field.serialization_alias):
            if not rest:
                return True
            inner = _inner_model(field.annotation)
            return inner is not None and declares(inner, rest)
    return False


# --- the calls --------------------------------------------------------------------------------


class Recorder:
    """Calls the API and keeps each 2xx JSON answer under (service, endpoint)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.answers: list[tuple[tuple[str, str], str, Any]] = []
        self.positions: dict[str, int] = {}  # per service: the last position its writes gave

    def saw(self, service: str, answer: httpx.Response) -> httpx.Response:
        """Remember the log position a write answered with: later reads of the service wait
        for it (X-Min-Position), as a client reading its own writes does."""
        position = answer.headers.get("X-Event-Position")
        if position:
            self.positions[service] = max(self.positions.get(service, 0), int(position))
        return answer

    async def call(self, key: tuple[str, str], method: str, path: str, **kwargs: Any) -> Any:
        if method == "GET" and key[0] in self.positions:
            kwargs["headers"] = {"X-Min-Position": str(self.positions[key[0]])}
        answer = self.saw(key[0], await self.client.request(method, path, **kwargs))
        assert 200 <= answer.status_code < 300, (method, path, answer.status_code, answer.text)
        body = answer.json()
        self.answers.append((key, f"{method} {path}", body))
        return body

    def get(self, key: tuple[str, str], path: str, **params: Any) -> Any:
        return self.call(key, "GET", path, params=params)

    def post(self, key: tuple[str, str], path: str, body: dict | None = None) -> Any:
        return self.call(key, "POST", path, json=body if body is not None else {})


async def exercise(api: Any) -> Recorder:
    """Every GET and POST of the API, on real objects, in the states that shape answers."""
    admin = api.admin
    ids = await one_of_each(admin)
    agency, procedure = ids["agency"], ids["procedure"]
    r = Recorder(admin)
    D, P, S = "dossier", "planning", "scoring"

    # reference data
    other = unique("S")
    await r.post((D, "register-agency"), "/api/v1/agencies",
                 {"code": other, "name": f"Sở {other}", "group": "department"})
    await r.post((D, "publish-procedure"), "/api/v1/procedures", {
        "code": f"2.{other}", "name": "Thủ tục khác", "agency": other, "field": "Y tế",
        "processing_days": 5, "online_level": "partial", "published_on": "2022-01-10"})
    await r.post((D, "declare-calendar-day"), "/api/v1/calendar/days",
                 {"date": "2019-04-29", "kind": "day_off", "note": "nghỉ bù"})
    await r.get((D, "list-agencies"), "/api/v1/agencies", limit=2)
    await r.get((D, "list-procedures"), "/api/v1/procedures", agency=agency)
    await r.get((D, "list-procedures"), "/api/v1/procedures", limit=1)

    # dossiers: every command, and the states they lead to
    dossier = ids["dossier_id"]
    body = r.saw(D, await receive(admin, procedure, "2022-07-12T08:00:00+07:00", channel="direct"))
    assert body.status_code == 201, body.text
    r.answers.append(((D, "receive-dossier"), "POST /api/v1/dossiers", body.json()))
    second = body.json()["id"]
    for action, key, payload in [
        ("supplement-request", "request-supplement",
         {"requested_at": "2022-07-12T10:00:00+07:00", "reason": "thiếu giấy tờ"}),
        ("supplement", "supplement-dossier", {"supplemented_at": "2022-07-13T09:00:00+07:00"}),
        ("extension", "extend-dossier", {"extended_at": "2022-07-14T09:00:00+07:00",
                                         "new_due_at": "2022-07-25T17:00:00+07:00",
                                         "reason": "cần xác minh"}),
        ("resolution", "resolve-dossier", {"resolved_at": "2022-07-15T09:00:00+07:00",
                                           "outcome": "approved"}),
        ("result-return", "return-result", {"returned_at": "2022-07-16T09:00:00+07:00"}),
    ]:
        await r.post((D, key), f"/api/v1/dossiers/{second}/{action}", payload)
    third = r.saw(D, await receive(admin, procedure, "2022-07-12T09:00:00+07:00",
                                   channel="postal")).json()
    await r.post((D, "withdraw-dossier"), f"/api/v1/dossiers/{third['id']}/withdrawal",
                 {"withdrawn_at": "2022-07-13T09:00:00+07:00", "reason": "rút hồ sơ"})
    fourth = r.saw(D, await receive(admin, procedure, "2022-07-12T10:00:00+07:00")).json()
    r.saw(D, await act(admin, fourth["id"], "resolution",
                       {"resolved_at": "2022-08-30T09:00:00+07:00", "outcome": "rejected",
                        "reason": "không đủ điều kiện"}))
    for one in (dossier, second, third["id"], fourth["id"]):
        await r.get((D, "get-dossier"), f"/api/v1/dossiers/{one}")
    codes = [(await admin.get(f"/api/v1/dossiers/{one}")).json()["receipt_code"]
             for one in (dossier, fourth["id"])]
    for code in codes:
        await r.get((D, "public-dossier"), f"/api/v1/public/dossiers/{code}")
    await r.get((D, "public-board"), "/api/v1/public/on-time-rates", year=2022)
    await r.get((D, "list-dossiers"), "/api/v1/dossiers", agency=agency, limit=2)
    await r.get((D, "list-dossiers"), "/api/v1/dossiers", agency=agency, q="nguyen")
    await r.get((D, "dossier-stats"), "/api/v1/dossier-stats", agency=agency,
                **{"from": "2022-07-01", "to": "2022-12-31"})
    await r.get((D, "dossier-stats"), "/api/v1/dossier-stats", agency=unique("S"),
                **{"from": "2022-07-01", "to": "2022-07-31"})
    await r.get((D, "dossier-stats"), "/api/v1/dossier-stats",
                **{"from": "2022-07-01", "to": "2022-07-31"})
    await r.get((D, "dossier-stats"), "/api/v1/dossier-stats", agency=agency, by="field",
                **{"from": "2022-07-01", "to": "2022-12-31"})
    await r.get((D, "alerts"), "/api/v1/alerts", agency=agency, day="2022-07-13")
    await r.get((D, "alerts"), "/api/v1/alerts", day="2022-07-16")

    # plans, tasks, inspections
    plan = ids["plan_id"]
    await r.post((P, "issue-plan"), "/api/v1/plans",
                 {"agency": other, "year": 2022, "title": "Kế hoạch CCHC 2022"})
    task = await r.post((P, "add-task"), f"/api/v1/plans/{plan}/tasks", {
        "title": "Số hoá hồ sơ", "area": "digital_government", "due_date": "2022-06-30",
        "owner": "VP", "added_at": "2022-01-05T09:00:00+07:00"})
    late = await r.post((P, "add-task"), f"/api/v1/plans/{plan}/tasks", {
        "title": "Rà soát thủ tục", "area": "procedures", "due_date": "2022-03-31",
        "owner": "VP", "added_at": "2022-01-05T09:00:00+07:00"})
    dropped = await r.post((P, "add-task"), f"/api/v1/plans/{plan}/tasks", {
        "title": "Bỏ", "area": "apparatus", "due_date": "2022-12-31", "owner": "VP", "added_at": "2022-01-05T09:00:00+07:00"})
    await r.post((P, "report-progress"), f"/api/v1/tasks/{task['id']}/progress",
                 {"reported_at": "2022-05-01T09:00:00+07:00", "percent": 40, "note": "đang làm"})
    await r.post((P, "reschedule-task"), f"/api/v1/tasks/{task['id']}/reschedule",
                 {"rescheduled_at": "2022-05-02T09:00:00+07:00", "new_due_date": "2022-09-30",
                  "reason": "dời hạn"})
    await r.post((P, "complete-task"), f"/api/v1/tasks/{task['id']}/completion",
                 {"completed_at": "2022-06-01T09:00:00+07:00", "evidence": ["https://x.vn/1"]})
    await r.post((P, "complete-task"), f"/api/v1/tasks/{late['id']}/completion",
                 {"completed_at": "2022-06-01T09:00:00+07:00"})
    await r.post((P, "cancel-task"), f"/api/v1/tasks/{dropped['id']}/cancellation",
                 {"cancelled_at": "2022-06-02T09:00:00+07:00", "reason": "không cần"})
    inspection = ids["inspection_id"]
    await r.post((P, "open-inspection"), "/api/v1/inspections", {
        "agency": other, "inspected_on": "2022-08-01", "team_lead": "Trưởng đoàn",
        "scope": "CCHC"})
    await r.post((P, "record-finding"), f"/api/v1/inspections/{inspection}/findings",
                 {"kind": "achievement", "text": "Tốt"})
    await r.post((P, "record-finding"), f"/api/v1/inspections/{inspection}/findings", {
        "kind": "shortcoming", "text": "Chậm số hoá",
        "remediation": {"title": "Số hoá", "area": "digital_government",
                        "due_date": "2022-12-31"}})
    await r.get((P, "list-plans"), "/api/v1/plans", agency=agency)
    await r.get((P, "list-plans"), "/api/v1/plans", limit=1)
    await r.get((P, "get-plan"), f"/api/v1/plans/{plan}")
    await r.get((P, "plan-progress"), f"/api/v1/plans/{plan}/progress", as_of="2022-07-15")
    await r.get((P, "plan-progress"), f"/api/v1/plans/{plan}/progress", as_of="2022-01-01")
    await r.get((P, "list-tasks"), "/api/v1/tasks", plan_id=plan)
    await r.get((P, "list-tasks"), "/api/v1/tasks", agency=agency, limit=1)
    await r.get((P, "get-task"), f"/api/v1/tasks/{task['id']}")
    await r.get((P, "get-inspection"), f"/api/v1/inspections/{inspection}")

    # indexes
    code, assessment = ids["code"], ids["assessment_id"]
    await r.post((S, "define-framework"), "/api/v1/index-frameworks",
                 framework_body(f"PAR-{other}"))
    await r.get((S, "get-framework"), f"/api/v1/index-frameworks/{code}")
    await r.get((S, "list-frameworks"), "/api/v1/index-frameworks", index="PAR", year=2022)
    await r.get((S, "framework-templates"), "/api/v1/index-framework-templates")
    await r.get((S, "get-assessment"), f"/api/v1/assessments/{assessment}")
    await r.get((S, "list-assessments"), "/api/v1/assessments", agency=agency)
    await r.post((S, "open-assessment"), "/api/v1/assessments",
                 {"framework": code, "agency": other})
    await r.post((S, "submit-self-scores"), f"/api/v1/assessments/{assessment}/self-scores",
                 {"scores": {"1.1": 1}, "evidence": {"1.1": ["https://x.vn/kh"]}})
    await r.post((S, "record-appraisal"), f"/api/v1/assessments/{assessment}/appraisal",
                 {"scores": {"1.1": 0.5}, "notes": "thiếu minh chứng"})
    await r.post((S, "record-survey"), f"/api/v1/assessments/{assessment}/survey",
                 {"criterion": "8.1", "respondents": 10, "satisfied": 7})
    await r.get((S, "get-assessment"), f"/api/v1/assessments/{assessment}")
    await r.post((S, "finish-assessment"), f"/api/v1/assessments/{assessment}/finish",
                 {"finished_at": "2023-01-15T09:00:00+07:00"})
    await r.get((S, "get-assessment"), f"/api/v1/assessments/{assessment}")
    await r.get((S, "list-assessments"), "/api/v1/assessments", framework=code)
    await r.post((S, "record-index-result"), "/api/v1/index-results", {
        "index": "SIPAS", "year": 2021, "agency": agency, "score": 82, "published_on":
        "2022-03-01"})
    await r.post((S, "record-index-result"), "/api/v1/index-results", {
        "index": "SIPAS", "year": 2021, "agency": other, "score": 82.5, "group": "department",
        "published_on": "2022-03-01"})
    await r.get((S, "rankings"), "/api/v1/rankings", index="SIPAS", year=2021,
                group="department")
    await r.get((S, "rankings"), "/api/v1/rankings", index="PAR", year=2022)
    await r.get((S, "rankings"), "/api/v1/rankings", index="SIPAS", year=2021,
                as_of="2022-12-31")
    await r.get((S, "agency-indexes"), "/api/v1/index-results", agency=agency)
    await r.get((S, "agency-indexes"), "/api/v1/index-results", agency=unique("S"),
                as_of="2022-12-31")

    # the gateway's own answers
    await r.get(("gateway", "agency-report"), "/api/v1/reports/agency", agency=agency,
                year=2022, as_of="2022-12-31")
    await r.get(("gateway", "agency-report"), "/api/v1/reports/agency", agency=other, year=2022)
    await r.get(("gateway", "agency-report"), "/api/v1/reports/agency", agency=unique("S"),
                year=2022, as_of="2022-06-30")  # no plan: the report's plan is zeros
    await r.get(("gateway", "audit"), f"/api/v1/audit/dossiers/{second}")
    await r.get(("gateway", "health"), "/health")
    await r.get(("gateway", "me"), "/api/v1/me")
    for context in ("dossier", "planning", "scoring"):
        await r.get(("gateway", "events"), "/api/v1/events", context=context, limit=5)
    return r


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def recorded(stack_api) -> Recorder:
    return await exercise(stack_api)


def model_of(key: tuple[str, str]) -> type[BaseModel]:
    return GATEWAY_ANSWERS.get(key) or ANSWERS[key]


async def test_every_answer_round_trips_through_its_model_unchanged(recorded: Recorder):
    problems = []
    for key, call, body in recorded.answers:
        dumped = model_of(key).model_validate(body).model_dump(mode="json")
        problems += [f"{key} {call}: {d}" for d in same_json(body, dumped)]
    assert not problems, "\n".join(problems)


async def test_every_field_an_answer_carries_is_declared(recorded: Recorder):
    problems = []
    for key, call, body in recorded.answers:
        left = undeclared(model_of(key).model_validate(body))
        problems += [f"{key} {call}: undeclared {where}" for where in left]
    assert not problems, "\n".join(problems)


async def test_every_service_endpoint_was_answered(recorded: Recorder):
    seen = {key for key, _, _ in recorded.answers}
    assert set(ANSWERS) - INTERNAL - seen == set()
    assert set(GATEWAY_ANSWERS) - seen == set()


async def test_models_declare_the_fields_api_md_documents(recorded: Recorder):
    text = API_MD.read_text(encoding="utf-8")
    missing = [f"{key}: {field}" for key, fields in DOCUMENTED.items() for field in fields
               if not declares(model_of(key), field)]
    assert not missing, "\n".join(missing)
    # Each documented name is in API.md (the table above copies it, it does not invent).
    for fields in DOCUMENTED.values():
        for field in fields:
            assert re.search(rf"\b{re.escape(field.rsplit('.', 1)[-1])}\b", text), field
    # The additions no service answers yet are indeed absent (then the models could not add them).
    for key, fields in NOT_ANSWERED_YET.items():
        for _, call, body in (a for a in recorded.answers if a[0] == key):
            present = [f for f in fields if f in body]
            assert not present, f"{key} {call} now answers {present}: declare them in its model"


def test_answers_cover_every_endpoint_of_the_services_but_health():
    from cchc.contracts.messages import Reply, Request
    from cchc.dossier import subscribers as dossier
    from cchc.planning import subscribers as planning
    from cchc.scoring import subscribers as scoring

    async def stub(request: Request) -> Reply:  # the routers are read, never served
        raise AssertionError

    class AnyHandlers:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            return stub

    names = {(module.SERVICE, name) for module in (dossier, planning, scoring)
             for name in module.endpoints(AnyHandlers(), AnyHandlers(), stub, 1).names}
    answered = {key for key in names if key[1] != "health"}
    assert answered - set(ANSWERS) == set()
    assert set(ANSWERS) - answered <= INTERNAL  # the services may not have them yet
