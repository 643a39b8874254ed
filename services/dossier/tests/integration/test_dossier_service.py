"""The dossier service on a real nats-server and real SQL, driven through its NATS endpoints."""

import asyncio
import random
import uuid
from datetime import date, timedelta

import pytest

from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.dossier.config import DossierSettings
from cchc.dossier.domain.calendar import statutory_working_day
from cchc.dossier.main import DossierService
from cchc.runtime.testing import replayed

ADMIN = Principal(sub="admin", role=Role.ADMIN)


def request(body=None, target=None, principal=ADMIN, key=None, expected=None, min_position=None):
    meta = CommandMeta(principal=principal, correlation_id=str(uuid.uuid4()),
                       idempotency_key=key, expected_version=expected)
    return Request(meta=meta, body=body or {}, target=target, min_position=min_position)


@pytest.fixture
async def service(nats_server, db_url):
    svc = DossierService(DossierSettings(nats_url=nats_server.url, database_url=db_url))
    await svc.start()
    await replayed(svc)
    yield svc
    await svc.stop()


@pytest.fixture
async def client(service_client):
    return service_client


async def setup_procedure(client, days=3) -> tuple[str, str]:
    agency, code = f"A{uuid.uuid4().hex[:6]}", f"1.{uuid.uuid4().hex[:6]}.H26"
    reply = await client.call("dossier", "register-agency",
                              request({"code": agency, "name": "Sở A", "group": "department"}))
    assert reply.ok, reply.problem
    reply = await client.call("dossier", "publish-procedure", request({
        "code": code, "name": "TTHC", "agency": agency, "field": "f",
        "processing_days": days, "online_level": "partial"}))
    assert reply.ok, reply.problem
    return agency, code


async def test_receive_then_read_your_write(service, client):
    agency, code = await setup_procedure(client)
    received = await client.call("dossier", "receive-dossier", request({
        "procedure": code, "channel": "direct", "received_at": "2022-07-11T09:00:00+07:00",
        "applicant": {"name": "Trần Thị B"}}))
    assert received.ok and received.version == 1 and received.position
    got = await client.call("dossier", "get-dossier",
                            request(target=received.result["id"], min_position=received.position))
    assert got.ok and got.result["agency"] == agency
    assert got.result["history"][0]["type"] == "DossierReceived"


_WEEKS_TAKEN: set[date] = set()


def an_ordinary_week() -> date:
    """A Monday (1960–2015: entered late, by admin; never used by the other tests) of a plain
    week, never the same twice in a run: the calendar is one for the whole log, and a week
    another test declared days in is not ordinary (a July of 56 years collided once in CI)."""
    while True:
        monday = date(1960, 1, 4) + timedelta(weeks=random.randint(0, 2900))
        if monday not in _WEEKS_TAKEN and all(
                statutory_working_day(monday + timedelta(days=i)) for i in range(3)):
            _WEEKS_TAKEN.add(monday)
            return monday


async def test_declared_days_change_later_due_dates(service, client):
    _, code = await setup_procedure(client, days=1)
    monday = an_ordinary_week()
    tuesday, wednesday = monday + timedelta(days=1), monday + timedelta(days=2)
    body = {"procedure": code, "channel": "online", "received_at": f"{monday}T09:00:00+07:00",
            "applicant": {"name": "C"}}
    before = await client.call("dossier", "receive-dossier", request(body))
    assert before.result["due_at"].startswith(str(tuesday))
    declared = await client.call("dossier", "declare-calendar-day", request(
        {"date": str(tuesday), "kind": "day_off", "note": "Nghỉ theo quyết định của tỉnh"}))
    assert declared.ok, declared.problem
    after = await client.call("dossier", "receive-dossier", request(body))
    assert after.result["due_at"].startswith(str(wednesday))


async def test_stale_if_match_is_412_and_forbidden_state_is_409(service, client):
    _, code = await setup_procedure(client)
    dossier = (await client.call("dossier", "receive-dossier", request({
        "procedure": code, "channel": "online", "received_at": "2022-07-11T09:00:00+07:00",
        "applicant": {"name": "D"}}))).result
    withdrawn = await client.call("dossier", "withdraw-dossier", request(
        {"withdrawn_at": "2022-07-12T09:00:00+07:00", "reason": "rút"}, target=dossier["id"],
        expected=1))
    assert withdrawn.ok and withdrawn.version == 2
    stale = await client.call("dossier", "resolve-dossier", request(
        {"resolved_at": "2022-07-13T09:00:00+07:00", "outcome": "approved"},
        target=dossier["id"], expected=1))
    assert stale.problem.kind == "precondition_failed"
    forbidden_state = await client.call("dossier", "resolve-dossier", request(
        {"resolved_at": "2022-07-13T09:00:00+07:00", "outcome": "approved"}, target=dossier["id"]))
    assert forbidden_state.problem.kind == "conflict"


async def test_queries_wait_for_the_projection_and_page(service, client):
    agency, code = await setup_procedure(client)
    positions = []
    for hour in range(8, 13):
        reply = await client.call("dossier", "receive-dossier", request({
            "procedure": code, "channel": "postal", "received_at": f"2022-07-11T{hour:02d}:00:00+07:00",
            "applicant": {"name": "E"}}))
        positions.append(reply.position)
    seen, cursor = [], None
    while True:
        page = await client.call("dossier", "list-dossiers", request(
            {"agency": agency, "limit": 2, "cursor": cursor}, min_position=max(positions)))
        seen += [item["received_at"] for item in page.result["items"]]
        cursor = page.result["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)
    officer = Principal(sub="o", role=Role.OFFICER, agency="OTHER")
    denied = await client.call("dossier", "list-dossiers", request({"agency": agency}, principal=officer))
    assert denied.problem.kind == "forbidden"
    mine = await client.call("dossier", "list-dossiers", request({}, principal=officer))
    assert mine.ok and mine.result["items"] == []


async def test_text_search_ignores_accents_and_case_and_pages(service, client, monkeypatch):
    from cchc.dossier import queries

    agency, code = await setup_procedure(client)
    names = ["Nguyễn Văn Đức", "Trần Thị Bình", "Công ty TNHH Đức Phát", "Lê Văn Cường",
             "NGUYỄN THỊ ĐÀO"]
    ids, position = [], 0
    for hour, name in enumerate(names, start=8):
        reply = await client.call("dossier", "receive-dossier", request({
            "procedure": code, "channel": "online",
            "received_at": f"2022-07-11T{hour:02d}:00:00+07:00",
            "applicant": {"name": name, "phone": f"09{hour:08d}"}}))
        ids.append(reply.result["id"])
        position = reply.position

    async def search(q, limit=50, cursor=None):
        page = await client.call("dossier", "list-dossiers", request(
            {"agency": agency, "q": q, "limit": limit, "cursor": cursor}, min_position=position))
        assert page.ok, page.problem
        return page.result

    def found(result):
        return sorted(item["applicant"]["name"] for item in result["items"])

    assert found(await search("duc")) == ["Công ty TNHH Đức Phát", "Nguyễn Văn Đức"]
    assert found(await search("  NGUYEN ")) == ["NGUYỄN THỊ ĐÀO", "Nguyễn Văn Đức"]
    assert found(await search("Bình")) == ["Trần Thị Bình"]
    assert found(await search("0900000011")) == ["Lê Văn Cường"]  # any applicant detail
    assert found(await search(code.upper())) == sorted(names)  # the procedure code
    assert [i["id"] for i in (await search(ids[2][-12:]))["items"]] == [ids[2]]
    assert (await search("không có ai"))["items"] == []

    # Paged: two matches per page, newest first, then a short page when the scan budget ends.
    first = await search("van", limit=1)
    assert found(first) == ["Lê Văn Cường"] and first["next_cursor"]
    second = await search("van", limit=1, cursor=first["next_cursor"])
    assert found(second) == ["Nguyễn Văn Đức"] and second["next_cursor"] is None
    monkeypatch.setattr(queries, "SEARCH_BATCH", 2)
    monkeypatch.setattr(queries, "SEARCH_SCAN", 2)
    short = await search("duc")  # the two newest do not match: an empty page that goes on
    assert short["items"] == [] and short["next_cursor"]
    rest = await search("duc", cursor=short["next_cursor"])
    assert found(rest) == ["Công ty TNHH Đức Phát"] and rest["next_cursor"]


async def test_concurrent_receipts_under_one_idempotency_key_write_once(service, client):
    _, code = await setup_procedure(client)
    body = {"procedure": code, "channel": "online", "received_at": "2022-07-11T09:00:00+07:00",
            "applicant": {"name": "F"}}
    replies = await asyncio.gather(*(
        client.call("dossier", "receive-dossier", request(body, key="same-key-" + code))
        for _ in range(5)))
    assert all(r.ok for r in replies)
    assert len({r.result["id"] for r in replies}) == 1
    assert len({r.position for r in replies}) == 1
