"""Every route of the API × every role: who may, who gets 403, and 401 without a token."""

import pytest

from api_steps import framework_body, one_of_each

ROLES = ["admin", "home_affairs", "inspector", "officer_own", "officer_other"]
EVERYONE = set(ROLES)
WRITERS = {"admin", "home_affairs", "officer_own"}
PROVINCIAL = {"admin", "home_affairs"}
READERS_OF_OWN = {"admin", "home_affairs", "inspector", "officer_own"}
ADMIN = {"admin"}


@pytest.fixture(scope="module")
async def world(stack_api):
    return await one_of_each(stack_api.admin)


# Routes outside the matrix, with the reason.
UNGUARDED = {
    ("GET", "/health"),  # the probe of orchestrators: no token, no data
    # the public lookup: public fields only, rate-limited (tests/test_public_lookup.py)
    ("GET", "/api/v1/public/dossiers/{receipt_code}"), ("GET", "/api/v1/public/on-time-rates"),
}


def routes(w):
    """(method, path template as in the OpenAPI document, query, body, roles that may)."""
    a = w["agency"]
    at = "2022-07-12T10:00:00+07:00"
    return [
        ("GET", "/api/v1/me", "", None, EVERYONE),
        ("GET", "/api/v1/admin/revocations", "", None, ADMIN),
        ("POST", "/api/v1/admin/revocations", "", {"jti": "{unique}"}, ADMIN),
        ("GET", "/api/v1/agencies", "", None, EVERYONE),
        ("POST", "/api/v1/agencies", "", {"code": "{unique}", "name": "x", "group": "commune"},
         PROVINCIAL),
        ("GET", "/api/v1/procedures", f"agency={a}", None, READERS_OF_OWN),
        ("POST", "/api/v1/procedures", "", {"code": "{unique}", "name": "x", "agency": a,
                                            "field": "f", "processing_days": 3,
                                            "online_level": "none"}, WRITERS),
        ("POST", "/api/v1/calendar/days", "", {"date": "2031-01-02", "kind": "day_off",
                                               "note": "n"}, PROVINCIAL),
        ("GET", "/api/v1/dossiers", f"agency={a}", None, READERS_OF_OWN),
        ("GET", "/api/v1/dossiers", f"agency={a}&irregular_supplement=true", None,
         READERS_OF_OWN),
        ("POST", "/api/v1/dossiers", "", {"procedure": w["procedure"], "channel": "direct",
                                          "received_at": at, "applicant": {"name": "B"}},
         WRITERS),
        ("GET", "/api/v1/dossiers/{dossier_id}", "", None, READERS_OF_OWN),
        ("POST", "/api/v1/dossiers/{dossier_id}/extension", "", {
            "extended_at": at, "new_due_at": "{later}", "reason": "r"}, WRITERS),
        ("POST", "/api/v1/dossiers/{dossier_id}/supplement-request", "", {
            "requested_at": at, "reason": "thiếu giấy tờ"}, WRITERS),
        ("POST", "/api/v1/dossiers/{dossier_id}/supplement", "", {"supplemented_at": at},
         WRITERS),
        ("POST", "/api/v1/dossiers/{dossier_id}/resolution", "", {
            "resolved_at": "2031-01-01T10:00:00+07:00", "outcome": "approved"}, WRITERS),
        ("POST", "/api/v1/dossiers/{dossier_id}/result-return", "", {
            "returned_at": "2031-01-02T10:00:00+07:00"}, WRITERS),
        ("POST", "/api/v1/dossiers/{dossier_id}/withdrawal", "", {
            "withdrawn_at": "2031-01-03T10:00:00+07:00", "reason": "r"}, WRITERS),
        ("GET", "/api/v1/dossier-stats", f"agency={a}&from=2022-01-01&to=2022-12-31", None,
         READERS_OF_OWN),
        ("GET", "/api/v1/dossiers/{dossier_id}/receipt", "", None, READERS_OF_OWN),
        ("POST", "/api/v1/imports/procedures", "file_name=a.csv", {}, PROVINCIAL),
        ("POST", "/api/v1/imports/dossiers", "file_name=a.csv", {}, PROVINCIAL),
        ("GET", "/api/v1/dossier-stats",
         f"agency={a}&from=2022-01-01&to=2022-12-31&method=766", None, READERS_OF_OWN),
        ("GET", "/api/v1/audit/dossiers/{dossier_id}", "", None, READERS_OF_OWN),
        ("GET", "/api/v1/audit/keys", "", None, EVERYONE),  # public keys, also in the AsyncAPI
        ("GET", "/api/v1/audit/anchors", "limit=1", None, EVERYONE),
        ("GET", "/api/v1/events", "after=0&limit=1", None, EVERYONE),
        ("GET", "/api/v1/plans", f"agency={a}", None, READERS_OF_OWN),
        ("POST", "/api/v1/plans", "", {"agency": a, "year": "{year}", "title": "t"}, WRITERS),
        ("GET", "/api/v1/plans/{plan_id}", "", None, READERS_OF_OWN),
        ("GET", "/api/v1/plans/{plan_id}/progress", "as_of=2022-07-15", None, READERS_OF_OWN),
        ("POST", "/api/v1/plans/{plan_id}/tasks", "", {"title": "t", "area": "institutions",
                                                       "due_date": "2022-12-31", "owner": "o"},
         WRITERS),
        ("GET", "/api/v1/tasks", "plan_id={plan_id}", None, READERS_OF_OWN),
        ("GET", "/api/v1/tasks/{task_id}", "", None, READERS_OF_OWN),
        ("POST", "/api/v1/tasks/{task_id}/progress", "", {"reported_at": at, "percent": 10,
                                                          "note": "n"}, WRITERS),
        ("POST", "/api/v1/tasks/{task_id}/reschedule", "", {
            "rescheduled_at": at, "new_due_date": "2022-12-30", "reason": "r"}, WRITERS),
        ("POST", "/api/v1/tasks/{task_id}/completion", "", {
            "completed_at": "2031-01-01T10:00:00+07:00", "evidence": "e"}, WRITERS),
        ("POST", "/api/v1/tasks/{task_id}/cancellation", "", {
            "cancelled_at": "2031-01-02T10:00:00+07:00", "reason": "r"}, WRITERS),
        ("POST", "/api/v1/inspections", "", {"agency": a, "inspected_on": "2022-07-15",
                                             "team_lead": "x", "scope": "y"}, PROVINCIAL),
        ("GET", "/api/v1/inspections/{inspection_id}", "", None, READERS_OF_OWN),
        ("POST", "/api/v1/inspections/{inspection_id}/findings", "", {
            "kind": "achievement", "text": "tốt"}, PROVINCIAL),
        ("GET", "/api/v1/index-frameworks", "", None, EVERYONE),
        ("POST", "/api/v1/index-frameworks", "", "{framework}", PROVINCIAL),
        ("GET", "/api/v1/index-framework-templates", "", None, EVERYONE),
        ("GET", "/api/v1/index-frameworks/{code}", "", None, EVERYONE),
        ("GET", "/api/v1/assessments", f"agency={a}", None, READERS_OF_OWN),
        ("POST", "/api/v1/assessments", "", {"framework": w["code"], "agency": a}, WRITERS),
        ("GET", "/api/v1/assessments/{assessment_id}", "", None, READERS_OF_OWN),
        ("POST", "/api/v1/assessments/{assessment_id}/self-scores", "", {
            "scores": {"1.1": 1}, "evidence": {"1.1": ["https://so.example.vn/kh.pdf"]}},
         WRITERS),
        ("POST", "/api/v1/assessments/{assessment_id}/appraisal", "", {
            "scores": {"1.1": 0.5}, "notes": "n"}, PROVINCIAL),
        ("POST", "/api/v1/assessments/{assessment_id}/survey", "", {
            "criterion": "8.1", "respondents": 10, "satisfied": 9}, PROVINCIAL),
        ("POST", "/api/v1/assessments/{assessment_id}/finish", "", {}, PROVINCIAL),
        ("GET", "/api/v1/index-results", f"agency={a}", None, READERS_OF_OWN),
        ("POST", "/api/v1/index-results", "", {"index": "SIPAS", "year": "{year}", "agency": a,
                                               "score": 90.5}, PROVINCIAL),
        ("GET", "/api/v1/rankings", "index=PAR&year=2022", None, EVERYONE),
        ("GET", "/api/v1/reports/agency", f"agency={a}&year=2022&as_of=2022-07-15", None,
         READERS_OF_OWN),
        ("GET", "/api/v1/alerts", f"agency={a}&day=2022-07-15", None, READERS_OF_OWN),
        ("POST", "/api/v1/alerts/deliveries", "", {"agency": a, "day": "2022-07-15"}, WRITERS),
    ]


def test_the_matrix_covers_every_route_of_the_api(stack_api):
    app = stack_api.stack.server.config.app
    published = {(method.upper(), path) for path, operations in app.openapi()["paths"].items()
                 for method in operations}
    in_matrix = {(method, path) for method, path, *_ in routes({"agency": "A", "procedure": "P",
                                                                "code": "C"})}
    assert published - UNGUARDED - in_matrix == set(), "routes without a row in the matrix"
    assert in_matrix - published == set(), "rows for routes the API does not have"


def filled(body, counter: int):
    if body is None:
        return None
    if body == "{framework}":
        return framework_body(f"F{counter:06d}")
    values = {"{unique}": f"U{counter:06d}", "{year}": 2040 + counter % 50,
              "{later}": f"2022-{8 + counter % 4:02d}-{1 + counter % 28:02d}T17:00:00+07:00"}
    return {k: values.get(v, v) if isinstance(v, str | int) and v in values else v
            for k, v in body.items()}


def client_for(stack_api, role: str, agency: str):
    if role == "officer_own":
        return stack_api.as_("officer", agency)
    if role == "officer_other":
        return stack_api.as_("officer", "OTHER")
    return stack_api.as_(role)


async def test_every_route_for_every_role(stack_api, world):
    import uuid

    failures = []
    counter = uuid.uuid4().int % 10**5
    for method, template, query, body, allowed in routes(world):
        path = template.format(**world) + (f"?{query.format(**world)}" if query else "")
        for role in ROLES:
            counter += 1
            client = client_for(stack_api, role, world["agency"])
            answer = await client.request(method, path, json=filled(body, counter))
            forbidden = answer.status_code == 403
            if forbidden == (role in allowed) or answer.status_code >= 500:
                failures.append(f"{method} {path} as {role}: {answer.status_code} {answer.text[:120]}")
            anonymous = await stack_api.admin.request(
                method, path, json=filled(body, counter), headers={"Authorization": ""})
            if anonymous.status_code != 401:
                failures.append(f"{method} {path} without a token: {anonymous.status_code}")
    assert not failures, "\n".join(failures)
