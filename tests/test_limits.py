"""Issue 13, limits, on the running stack: request bodies over 1 MiB are 413 before being read
whole; a tampered list cursor is a 400 naming `cursor`; live event streams per caller are capped
(429) and a closed stream frees its slot; an agency that is no plain agency code (`*`, `>`)
reads no events at all."""

import asyncio
import base64
import json
import time
import uuid

import httpx
import jwt
import pytest

from api_steps import agency_with_procedure, receive

SSE = {"Accept": "text/event-stream"}
PROBLEM = "application/problem+json"
MiB = 1024 * 1024


def client_for(api, sub: str, role: str, agency: str | None = None) -> httpx.AsyncClient:
    """A client with a token of its own subject (the stream cap counts per caller)."""
    now = int(time.time())
    claims = {"sub": sub, "role": role, "iat": now, "exp": now + 3600, "iss": "cchc-ledger",
              "jti": uuid.uuid4().hex}
    if agency is not None:
        claims["agency"] = agency
    token = jwt.encode(claims, api.secret, algorithm="HS256")
    return httpx.AsyncClient(base_url=api.base_url, timeout=30,
                             headers={"Authorization": f"Bearer {token}"})


def assert_problem(answer: httpx.Response, status: int) -> dict:
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"].startswith(PROBLEM), answer.headers
    body = answer.json()
    assert body["status"] == status and body["title"]
    return body


# --- bodies ------------------------------------------------------------------------------------

def big_dossier(size: int) -> bytes:
    body = {"procedure": "1.000001.000.00.00.H26", "channel": "online",
            "received_at": "2024-03-04T09:00:00+07:00",
            "applicant": {"name": "x" * size, "phone": "0912345678"}}
    return json.dumps(body).encode()


async def test_a_body_over_1_mib_is_413_with_or_without_a_length(stack_api):
    admin = stack_api.admin
    payload = big_dossier(2 * MiB)
    declared = await admin.post("/api/v1/dossiers", content=payload,
                                headers={"Content-Type": "application/json"})
    body = assert_problem(declared, 413)
    assert str(MiB) in body["detail"]

    # Refused before authentication and before anything reads it.
    async with httpx.AsyncClient(base_url=stack_api.base_url, timeout=30) as anonymous:
        assert_problem(await anonymous.post("/api/v1/agencies", content=payload,
                                            headers={"Content-Type": "application/json"}), 413)

    pulled = 0

    async def chunks():  # no Content-Length: Transfer-Encoding: chunked
        nonlocal pulled
        for start in range(0, len(payload), 64 * 1024):
            pulled += 64 * 1024
            yield payload[start:start + 64 * 1024]

    chunked = await admin.post("/api/v1/dossiers", content=chunks(),
                               headers={"Content-Type": "application/json"})
    assert "content-length" not in {k.lower() for k in chunked.request.headers}
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert_problem(chunked, 413)

    # Just under the cap is read and judged on its content, as before.
    under = await admin.post("/api/v1/dossiers", content=big_dossier(MiB - 1000),
                             headers={"Content-Type": "application/json"})
    assert under.status_code != 413 and under.status_code < 500, under.text[:300]
    # And the server is healthy after all this.
    assert (await admin.get("/api/v1/agencies")).status_code == 200


# --- cursors -----------------------------------------------------------------------------------

def b64(value: str | bytes) -> str:
    raw = value.encode() if isinstance(value, str) else value
    return base64.urlsafe_b64encode(raw).decode()


GARBAGE = [
    "garbage!!",  # not base64
    "%%%%",
    "YQ",  # base64 of "a": not JSON
    b64(b"\xff\xfe\x00"),  # not UTF-8
    b64('{"at": "2024-01-01T00:00:00+00:00", "id": "x"}'),  # JSON, not a list
    b64("[]"),
    b64('["a", "b", "c"]'),  # too many values
    b64("null"),
    b64("[" * 5000 + "]" * 5000),  # deep nesting (and too long)
    "A" * 10_000,  # too long for any cursor
]
# Two values of the wrong kind for each list: [datetime, id], [date, id], [agency, year].
WRONG_PAIRS = [
    "[1, 2]", '[null, "x"]', '[["x"], {"y": 1}]', '["not a date", "x"]',
    '["2024-01-01T00:00:00", "x"]',  # a datetime without its offset
    '["0001-01-01T00:00:00+01:00", "x"]',  # overflows when moved to UTC
    '["2024-01-01", "\\u0000"]', '["2024-01-01T00:00:00+00:00", "\\ud800"]',
    '["2024-01-01", 12]', '["SO-TP", 1e400]', '["SO-TP", 99999999999999999999999]',
    '["SO-TP", true]', '["SO-TP", "2024"]', '["\\u0000", 2024]', '[2024, "SO-TP"]',
]
WRONG_SINGLES = ["[1]", "[null]", '[["x"]]', '[{"a": 1}]', '["\\u0000"]', '["\\udfff"]', "[true]"]


async def test_a_tampered_cursor_is_a_400_naming_cursor_on_every_list(stack_api):
    admin = stack_api.admin
    lists = {
        "/api/v1/dossiers": GARBAGE + [b64(p) for p in WRONG_PAIRS],
        "/api/v1/tasks": GARBAGE + [b64(p) for p in WRONG_PAIRS],
        "/api/v1/plans": GARBAGE + [b64(p) for p in WRONG_PAIRS if p != '["2024-01-01", 12]'],
        "/api/v1/agencies": GARBAGE + [b64(p) for p in WRONG_SINGLES],
        "/api/v1/procedures": GARBAGE + [b64(p) for p in WRONG_SINGLES],
    }
    failures = []
    for path, cursors in lists.items():
        for cursor in cursors:
            answer = await admin.get(path, params={"cursor": cursor})
            if (answer.status_code != 400
                    or not answer.headers["content-type"].startswith(PROBLEM)
                    or answer.json()["errors"][0]["field"] != "cursor"):
                failures.append((path, cursor[:60], answer.status_code, answer.text[:200]))
    assert failures == []
    # A search reads through the same cursor.
    searched = await admin.get("/api/v1/dossiers", params={"q": "an", "cursor": b64("[1, 2]")})
    assert assert_problem(searched, 400)["errors"][0]["field"] == "cursor"


async def test_a_real_cursor_still_pages(stack_api):
    admin = stack_api.admin
    agency, procedure = await agency_with_procedure(admin)
    for minute in ("00", "10", "20"):
        answer = await receive(admin, procedure, f"2024-05-06T09:{minute}:00+07:00")
        assert answer.status_code == 201, answer.text
    written = {"X-Min-Position": answer.headers["X-Event-Position"]}
    seen, cursor = [], None
    while True:
        page = await admin.get("/api/v1/dossiers", headers=written, params={
            "agency": agency, "limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += [d["id"] for d in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3


# --- live event streams ------------------------------------------------------------------------

async def open_stream(client: httpx.AsyncClient, stack: list) -> httpx.Response:
    request = client.build_request("GET", "/api/v1/events", headers=SSE)
    response = await client.send(request, stream=True)
    stack.append(response)
    return response


async def test_a_fifth_concurrent_stream_is_429_and_a_closed_one_frees_its_slot(stack_api):
    me = client_for(stack_api, f"streamer-{uuid.uuid4().hex[:6]}", "inspector")
    someone_else = client_for(stack_api, f"other-{uuid.uuid4().hex[:6]}", "inspector")
    streams: list[httpx.Response] = []
    try:
        for _ in range(4):
            opened = await open_stream(me, streams)
            assert opened.status_code == 200
            assert opened.headers["content-type"].startswith("text/event-stream")

        fifth = await me.get("/api/v1/events", headers=SSE)
        body = assert_problem(fifth, 429)
        assert int(fifth.headers["Retry-After"]) > 0
        assert "stream" in body["detail"]

        # The cap is per caller: another caller still streams; the JSON page is no stream.
        other = await open_stream(someone_else, streams)
        assert other.status_code == 200
        assert (await me.get("/api/v1/events")).status_code == 200

        # A client that goes away frees its slot.
        await streams.pop(0).aclose()
        for _ in range(100):
            again = await open_stream(me, streams)
            if again.status_code == 200:
                break
            assert again.status_code == 429
            await streams.pop().aclose()
            await asyncio.sleep(0.1)
        else:
            pytest.fail("the closed stream's slot was never released")
        assert_problem(await me.get("/api/v1/events", headers=SSE), 429)
    finally:
        for response in streams:
            await response.aclose()
        await me.aclose()
        await someone_else.aclose()


# --- the caller's agency -----------------------------------------------------------------------

async def test_an_agency_that_is_no_agency_code_reads_no_events(stack_api):
    admin = stack_api.admin
    mine, procedure = await agency_with_procedure(admin)
    assert (await receive(admin, procedure, "2024-03-04T09:00:00+07:00")).status_code == 201
    assert (await admin.get("/api/v1/events", params={"limit": 500})).json()["items"]

    for agency in ["*", ">", f"{mine}.>", "*.>", " ", "a b", "S*"]:
        wild = client_for(stack_api, f"wild-{uuid.uuid4().hex[:6]}", "officer", agency)
        try:
            page = await wild.get("/api/v1/events", params={"limit": 500})
            assert page.status_code in (401, 403), (agency, page.text[:300])
            assert page.headers["content-type"].startswith(PROBLEM)
            assert "items" not in page.json()
            stream = await wild.get("/api/v1/events", headers=SSE, timeout=10)
            assert stream.status_code in (401, 403), (agency, stream.text[:300])
            assert stream.headers["content-type"].startswith(PROBLEM)
        finally:
            await wild.aclose()

    # An officer with a real code reads its own agency's events, exactly.
    officer = client_for(stack_api, f"officer-{mine}", "officer", mine)
    try:
        items = (await officer.get("/api/v1/events", params={"limit": 500})).json()["items"]
        assert items and {e["agency"] for e in items} == {mine}
    finally:
        await officer.aclose()
