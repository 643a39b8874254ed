"""Index and report routes: roles checked at the gateway, bodies and queries forwarded as the
scoring service's requests, and the agency report composed from three services' answers (as
JSON, or as an escaped Vietnamese page)."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import nats
import pytest
from cchc.contracts.messages import Reply, Request
from cchc.contracts.subjects import stream_name
from cchc.runtime.streams import ensure_event_stream
from cchc.contracts.scoring_commands import COMMAND_ENDPOINTS, QUERY_ENDPOINTS
from cchc.gateway.app import create_app
from cchc.gateway.report_page import render_agency_report, vi_number
from cchc.runtime.testing import serve_stand_in


@dataclass
class Recorder:
    """A service as the gateway sees it: endpoints that answer what they are told."""

    replies: dict[str, Reply] = field(default_factory=dict)
    received: list[tuple[str, Request]] = field(default_factory=list)

    def requests_to(self, endpoint: str) -> list[Request]:
        return [request for name, request in self.received if name == endpoint]

    def handler(self, endpoint: str):  # type: ignore[no-untyped-def]
        async def handle(request: Request) -> Reply:
            self.received.append((endpoint, request))
            return self.replies.get(endpoint, Reply(ok=True, result={"endpoint": endpoint}))

        return handle


@pytest.fixture
async def app(settings):  # type: ignore[no-untyped-def]
    """The gateway with the services' NATS side played by recorders."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


async def _serving(nats_server, service: str, names: list[str]) -> AsyncIterator[Recorder]:  # type: ignore[no-untyped-def]
    recorder = Recorder()
    stand_in_broker = await serve_stand_in(nats_server.url, service, {n: recorder.handler(n) for n in names})
    yield recorder
    await stand_in_broker.stop()


@pytest.fixture
async def scoring(nats_server) -> AsyncIterator[Recorder]:  # type: ignore[no-untyped-def]
    async for recorder in _serving(nats_server, "scoring", [*COMMAND_ENDPOINTS, *QUERY_ENDPOINTS]):
        yield recorder


@pytest.fixture
async def planning(nats_server) -> AsyncIterator[Recorder]:  # type: ignore[no-untyped-def]
    async for recorder in _serving(nats_server, "planning", ["plan-of"]):
        yield recorder


FRAMEWORK = {
    "code": "PAR-SO-2022", "index": "PAR", "year": 2022, "group": "department", "max_score": 10,
    "criteria": [{"code": "1.2", "title": "Mức độ thực hiện kế hoạch", "area": "direction",
                  "max_points": 2, "method": "auto", "metric": "plan.completion_rate",
                  "bands": [{"min_rate": 0.9, "points": 2}]}],
}


async def test_frameworks_appraisal_survey_finish_and_results_are_provincial(client, scoring, as_role):
    posts = [
        ("/api/v1/index-frameworks", FRAMEWORK),
        ("/api/v1/assessments/a1/appraisal", {"scores": {"1.1": 1}}),
        ("/api/v1/assessments/a1/survey", {"criterion": "8.1", "respondents": 4, "satisfied": 3}),
        ("/api/v1/assessments/a1/finish", None),
        ("/api/v1/index-results", {"index": "PAR", "year": 2021, "agency": "SO-TT",
                                   "score": 93.8}),
    ]
    for path, body in posts:
        for role, agency in (("officer", "SO-TT"), ("inspector", None)):
            answer = await client.post(path, json=body, headers=as_role(role, agency))
            assert answer.status_code == 403, (path, role)
        answer = await client.post(path, json=body, headers=as_role("home_affairs"))
        assert answer.status_code in (200, 201), (path, answer.text)
    assert scoring.requests_to("finish-assessment")[0].target == "a1"
    assert [r.body["criterion"] for r in scoring.requests_to("record-survey")] == ["8.1"]
    assert len(scoring.received) == len(posts)


async def test_an_officer_opens_and_self_scores_its_own_agency_only(client, scoring, as_role):
    own = as_role("officer", "SO-TT")
    body = {"framework": "PAR-SO-2022", "agency": "SO-TT"}
    assert (await client.post("/api/v1/assessments", json=body, headers=own)).status_code == 201
    other = {**body, "agency": "SO-XD"}
    assert (await client.post("/api/v1/assessments", json=other, headers=own)).status_code == 403
    scores = {"scores": {"1.1": 1}, "evidence": {"1.1": ["https://so.gov.vn/qd.pdf"]}}
    answer = await client.post("/api/v1/assessments/a1/self-scores", json=scores, headers=own)
    assert answer.status_code == 200
    [request] = scoring.requests_to("submit-self-scores")
    assert (request.target, request.body["scores"], request.meta.principal.agency) == (
        "a1", {"1.1": 1.0}, "SO-TT")


async def test_reads_forward_their_queries(client, scoring, as_role):
    officer = as_role("officer", "SO-TT")
    answer = await client.get("/api/v1/rankings", headers=officer, params={
        "index": "SIPAS", "year": 2021, "group": "department", "as_of": "2022-07-15"})
    assert answer.status_code == 200
    assert scoring.requests_to("rankings")[0].body == {
        "index": "SIPAS", "year": 2021, "group": "department", "as_of": "2022-07-15"}
    await client.get("/api/v1/assessments/a1", headers=officer,
                     params={"dossier_position": 12})
    assert scoring.requests_to("get-assessment")[0].body == {
        "dossier_position": 12, "planning_position": None}
    bad = await client.get("/api/v1/rankings", headers=officer,
                           params={"index": "HAPPY", "year": 2021})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "index"
    other = await client.get("/api/v1/index-results", headers=officer, params={"agency": "SO-XD"})
    assert other.status_code == 403


STATS = {
    "agency": "SO-TT", "from": "2022-01-01", "to": "2022-07-15",
    "received": {"total": 49, "online": 20, "direct": 20, "postal": 9, "carried_over": 0},
    "resolved": {"total": 47, "early": 40, "on_time": 7, "late": 0},
    "in_progress": {"total": 2, "not_due": 2, "overdue": 0}, "withdrawn": 0, "on_time_rate": 1.0,
}


async def test_the_report_is_composed_from_three_services(
    client, stand_in, scoring, planning, as_role
):
    stand_in.answer("dossier-stats", Reply(ok=True, result=STATS))
    stand_in.answer("procedures-published", Reply(ok=True, result={
        "agency": "SO-TT", "as_of": "2022-07-15", "published": 44}))
    planning.replies["plan-of"] = Reply(ok=True, result={
        "plan_id": "p1", "agency": "SO-TT", "year": 2022, "total": 46, "completed": 35, "completed_on_time": 35, "completed_late": 0,
        "in_progress": 11, "overdue": 0, "cancelled": 0, "completion_rate": 0.7609})
    scoring.replies["agency-indexes"] = Reply(ok=True, result={
        "agency": "SO-TT", "agency_name": "Sở <Thông tin> & Truyền thông", "items": [
            {"index": "PAR", "year": 2021, "score": 93.8, "rank": 12, "of": 20,
             "group": "department"}]})
    officer = as_role("officer", "SO-TT")
    params = {"agency": "SO-TT", "year": 2022, "as_of": "2022-07-15"}

    report = (await client.get("/api/v1/reports/agency", params=params, headers=officer)).json()
    assert (report["plan"]["total"], report["plan"]["completed"]) == (46, 35)
    assert report["procedures_published"] == 44 and report["dossiers"] == STATS
    assert stand_in.requests_to("dossier-stats")[0].body == {
        "agency": "SO-TT", "from": "2022-01-01", "to": "2022-07-15"}
    assert planning.requests_to("plan-of")[0].body == {
        "agency": "SO-TT", "year": 2022, "as_of": "2022-07-15"}
    assert stand_in.requests_to("procedures-published")[0].body == {
        "agency": "SO-TT", "as_of": "2022-07-15"}

    page = await client.get("/api/v1/reports/agency", params=params,
                            headers={**officer, "Accept": "text/html,*/*;q=0.8"})
    assert page.headers["content-type"].startswith("text/html")
    assert "Sở &lt;Thông tin&gt; &amp; Truyền thông" in page.text
    assert "xếp thứ 12/20" in page.text
    json_first = await client.get("/api/v1/reports/agency", params=params, headers={
        **officer, "Accept": "application/json, text/html;q=0.5"})
    assert json_first.headers["content-type"].startswith("application/json")

    refused = await client.get("/api/v1/reports/agency", headers=as_role("officer", "SO-XD"),
                               params=params)
    assert refused.status_code == 403


async def test_the_report_reads_its_writes_in_every_context_it_reads(
    client, stand_in, scoring, planning, as_role, nats_server
):
    """``X-Min-Position`` by context waits for each its own; one plain position waits in each
    log as far as that log reaches (it is someone's write in one of them)."""
    stand_in.answer("dossier-stats", Reply(ok=True, result=STATS))
    stand_in.answer("procedures-published", Reply(ok=True, result={
        "agency": "SO-TT", "as_of": "2022-07-15", "published": 44}))
    planning.replies["plan-of"] = Reply(ok=True, result={"plan_id": None})
    scoring.replies["agency-indexes"] = Reply(ok=True, result={
        "agency": "SO-TT", "agency_name": "Sở", "items": []})
    officer = as_role("officer", "SO-TT")
    params = {"agency": "SO-TT", "year": 2022, "as_of": "2022-07-15"}

    def waited() -> tuple:
        return (stand_in.requests_to("dossier-stats")[-1].min_position,
                stand_in.requests_to("procedures-published")[-1].min_position,
                planning.requests_to("plan-of")[-1].min_position,
                scoring.requests_to("agency-indexes")[-1].min_position)

    named = await client.get("/api/v1/reports/agency", params=params, headers={
        **officer, "X-Min-Position": "dossier=120, planning=45, scoring=7"})
    assert named.status_code == 200, named.text
    assert waited() == (120, 120, 45, 7)

    # One plain position: the logs here hold 3 dossier events, 1 planning event, none in scoring.
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    for context, events in (("dossier", 3), ("planning", 1), ("scoring", 0)):
        await ensure_event_stream(js, context)
        for number in range(events):
            await js.publish(f"cchc.{context}.SO-TT.a{number}", b"{}",
                             stream=stream_name(context))
    heads = {c: (await js.stream_info(stream_name(c))).state.last_seq
             for c in ("dossier", "planning", "scoring")}
    await nc.close()
    plain = await client.get("/api/v1/reports/agency", params=params, headers={
        **officer, "X-Min-Position": "2"})
    assert plain.status_code == 200, plain.text
    assert waited() == (min(2, heads["dossier"]), min(2, heads["dossier"]),
                        min(2, heads["planning"]), min(2, heads["scoring"]))

    for wrong in ("dossier=1, dossier=2", "budget=3", "dossier=x"):
        refused = await client.get("/api/v1/reports/agency", params=params, headers={
            **officer, "X-Min-Position": wrong})
        assert refused.status_code == 400, (wrong, refused.text)
        assert refused.json()["errors"][0]["field"] == "X-Min-Position"


def test_numbers_read_with_a_decimal_comma():
    assert [vi_number(v) for v in (93.8, 97.99, 100.0, 1234.5, 0.5, 76.0869)] == [
        "93,8", "97,99", "100", "1.234,5", "0,5", "76,09"]


def test_the_dossier_sentence_says_what_is_late_and_what_is_not():
    stats = {**STATS, "resolved": {"total": 47, "early": 40, "on_time": 5, "late": 2},
             "in_progress": {"total": 3, "not_due": 1, "overdue": 2}, "withdrawn": 1}
    page = render_agency_report({
        "agency": "SO-TT", "year": 2022, "as_of": "2022-07-15", "plan": {"plan_id": None},
        "dossiers": stats, "procedures_published": 0, "indexes": []})
    assert ("đã giải quyết 47 hồ sơ, trong đó 45 hồ sơ trước và đúng hạn, 2 hồ sơ quá hạn; "
            "1 hồ sơ đang giải quyết chưa đến hạn, 2 hồ sơ quá hạn; 1 hồ sơ được rút") in page
    assert "Chưa có kế hoạch CCHC năm 2022 trên hệ thống." in page
    assert "Chưa có kết quả chỉ số được công bố." in page
