"""Every route of the API × every role: who may, who gets 403, and 401 without a token."""

import pytest

from api_steps import agency_with_procedure, receive

ROLES = ["admin", "home_affairs", "inspector", "officer_own", "officer_other"]
EVERYONE = set(ROLES)
WRITERS = {"admin", "home_affairs", "officer_own"}
PROVINCIAL = {"admin", "home_affairs"}
READERS_OF_OWN = {"admin", "home_affairs", "inspector", "officer_own"}


@pytest.fixture(scope="module")
async def world(stack_api):
    """An agency with a procedure, a dossier, a plan with a task, an inspection."""
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin)
    dossier = (await receive(admin, procedure, "2022-07-11T09:30:00+07:00")).json()
    plan = (await admin.post("/api/v1/plans", json={
        "agency": agency, "year": 2022, "title": "Kế hoạch CCHC 2022"})).json()
    task = (await admin.post(f"/api/v1/plans/{plan['id']}/tasks", json={
        "title": "Nhiệm vụ", "area": "direction", "due_date": "2022-12-31", "owner": "VP"})).json()
    inspection = (await admin.post("/api/v1/inspections", json={
        "agency": agency, "inspected_on": "2022-07-15", "team_lead": "Trưởng đoàn",
        "scope": "CCHC"})).json()
    return {"agency": agency, "procedure": procedure, "dossier": dossier["id"],
            "plan": plan["id"], "task": task["id"], "inspection": inspection["id"]}


def routes(w):
    a, d, p, t, i = w["agency"], w["dossier"], w["plan"], w["task"], w["inspection"]
    at = "2022-07-12T10:00:00+07:00"
    return [
        ("GET", "/api/v1/agencies", None, EVERYONE),
        ("GET", f"/api/v1/procedures?agency={a}", None, READERS_OF_OWN),
        ("GET", f"/api/v1/dossiers?agency={a}", None, READERS_OF_OWN),
        ("GET", f"/api/v1/dossiers/{d}", None, READERS_OF_OWN),
        ("GET", f"/api/v1/dossier-stats?agency={a}&from=2022-01-01&to=2022-12-31", None,
         READERS_OF_OWN),
        ("GET", f"/api/v1/audit/dossiers/{d}", None, READERS_OF_OWN),
        ("GET", "/api/v1/events?after=0&limit=1", None, EVERYONE),
        ("GET", f"/api/v1/plans?agency={a}", None, READERS_OF_OWN),
        ("GET", f"/api/v1/plans/{p}/progress?as_of=2022-07-15", None, READERS_OF_OWN),
        ("GET", f"/api/v1/inspections/{i}", None, READERS_OF_OWN),
        ("POST", "/api/v1/calendar/days", {"date": "2031-01-02", "kind": "day_off", "note": "n"},
         PROVINCIAL),
        ("POST", "/api/v1/procedures", {"code": "{unique}", "name": "x", "agency": a, "field": "f",
                                        "processing_days": 3, "online_level": "none"}, WRITERS),
        ("POST", "/api/v1/dossiers", {"procedure": w["procedure"], "channel": "direct",
                                      "received_at": at, "applicant": {"name": "B"}}, WRITERS),
        ("POST", f"/api/v1/dossiers/{d}/extension", {
            "extended_at": at, "new_due_at": "{later}", "reason": "r"}, WRITERS),
        ("POST", "/api/v1/plans", {"agency": a, "year": "{year}", "title": "t"}, WRITERS),
        ("POST", f"/api/v1/plans/{p}/tasks", {"title": "t", "area": "institutions",
                                              "due_date": "2022-12-31", "owner": "o"}, WRITERS),
        ("POST", f"/api/v1/tasks/{t}/progress", {"reported_at": at, "percent": 10, "note": "n"},
         WRITERS),
        ("POST", "/api/v1/inspections", {"agency": a, "inspected_on": "2022-07-15",
                                         "team_lead": "x", "scope": "y"}, PROVINCIAL),
        ("POST", f"/api/v1/inspections/{i}/findings", {"kind": "achievement", "text": "tốt"},
         PROVINCIAL),
        ("POST", "/api/v1/agencies", {"code": "{unique}", "name": "x", "group": "commune"},
         PROVINCIAL),
    ]


def filled(body, counter: int):
    if body is None:
        return None
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
    for method, path, body, allowed in routes(world):
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
