"""Bad input is answered 4xx with the field that is wrong, and writes nothing."""

from api_steps import act, agency_with_procedure, publish_procedure, receive, unique


async def log_head(api) -> int:
    feed = (await api.admin.get("/api/v1/events", params={"after": 0, "limit": 500})).json()
    while feed["next_cursor"] is not None and feed["items"]:
        last = feed["items"][-1]["position"]
        feed = (await api.admin.get("/api/v1/events", params={"after": last, "limit": 500})).json()
        if not feed["items"]:
            return last
    return feed["items"][-1]["position"] if feed["items"] else 0


def problem_fields(answer) -> set[str]:
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.text
    return {error["field"] for error in answer.json().get("errors", [])}


async def test_bad_inputs_are_4xx_with_the_field_and_write_nothing(stack_api):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin)
    dossier = (await receive(admin, procedure, "2022-07-11T09:30:00+07:00")).json()
    head = await log_head(stack_api)

    unknown = await receive(admin, "9.999999.000.00.00.H26", "2022-07-11T09:30:00+07:00")
    assert unknown.status_code == 422 and "procedure" in problem_fields(unknown)

    negative = await admin.post("/api/v1/procedures", json={
        "code": unique("P"), "name": "x", "agency": agency, "field": "x",
        "processing_days": -3, "online_level": "full"})
    assert negative.status_code == 422 and "processing_days" in problem_fields(negative)

    early = await act(admin, dossier["id"], "resolution",
                      {"resolved_at": "2022-07-10T09:30:00+07:00", "outcome": "approved"})
    assert early.status_code == 422 and "resolved_at" in problem_fields(early)

    malformed = await admin.post("/api/v1/dossiers", content=b'{"procedure": ',
                                 headers={"content-type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("application/problem+json")

    naive = await receive(admin, procedure, "2022-07-11T09:30:00")
    assert naive.status_code == 422 and "received_at" in problem_fields(naive)

    unknown_agency = await admin.post("/api/v1/procedures", json={
        "code": unique("P"), "name": "x", "agency": "NOPE", "field": "x",
        "processing_days": 3, "online_level": "full"})
    assert unknown_agency.status_code == 422 and "agency" in problem_fields(unknown_agency)

    missing = await act(admin, "0193e0c2-0000-7000-8000-000000000000", "resolution",
                        {"resolved_at": "2022-07-12T09:30:00+07:00", "outcome": "approved"})
    assert missing.status_code == 404

    assert await log_head(stack_api) == head


async def test_text_with_control_characters_is_refused_and_writes_nothing(stack_api):
    """A NUL cannot be stored in PostgreSQL's text: an agency registered with one was answered
    201, appended to the log, and never appeared in the read model there."""
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin)
    head = await log_head(stack_api)

    nul = await admin.post("/api/v1/agencies", json={
        "code": unique("N"), "name": "Sở\u0000 Nội vụ", "group": "department"})
    assert nul.status_code == 422 and problem_fields(nul) == {"name"}, nul.text
    bell = await admin.post("/api/v1/procedures", json={
        "code": unique("P"), "name": "Cấp phép", "agency": agency, "field": "Bưu chính\u0007",
        "processing_days": 3, "online_level": "full"})
    assert bell.status_code == 422 and problem_fields(bell) == {"field"}, bell.text
    extra = await admin.post("/api/v1/dossiers", json={
        "procedure": procedure, "channel": "online", "received_at": "2022-07-11T09:30:00+07:00",
        "applicant": {"name": "Nguyễn Văn An", "phone": "0912\u0000345"}})
    assert extra.status_code == 422 and problem_fields(extra) == {"applicant"}, extra.text
    assert await log_head(stack_api) == head

    lines = await admin.post("/api/v1/agencies", json={  # tab and line breaks stay allowed
        "code": unique("T"), "name": "Sở\tNội vụ\r\n(cũ)", "group": "department"})
    assert lines.status_code == 201, lines.text


async def test_a_duplicate_code_is_a_conflict(stack_api):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin)
    again = await admin.post("/api/v1/agencies", json={"code": agency, "name": "x", "group": "department"})
    assert again.status_code == 409
    twice = await admin.post("/api/v1/procedures", json={
        "code": procedure, "name": "x", "agency": agency, "field": "x",
        "processing_days": 3, "online_level": "full"})
    assert twice.status_code == 409
    await publish_procedure(admin, agency, unique("P"), 5)
