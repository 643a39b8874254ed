"""Tokens that expire, carry a jti, name a registered agency, and can be revoked (issue 13).

The gateway runs on the real nats-server; revocations live in its JetStream KV bucket, so a
second gateway on the same server honours what the first was told.
"""

import asyncio
import time
import uuid

import httpx
import jwt

from cchc.gateway.app import create_app
from cchc.gateway.auth import DEFAULT_TTL_S, ISSUER, LEEWAY_S, issue_token

SECRET = "test-secret-for-the-gateway-0123456789"  # the settings fixture's jwt_secret


def header(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def person(role: str = "admin", agency: str | None = None, ttl_s: int | None = None) -> str:
    """A token of a person of its own (a fresh sub: revoking it touches no other test)."""
    return issue_token(SECRET, f"p-{uuid.uuid4().hex[:8]}", role, agency, ttl_s)


def detail(response: httpx.Response) -> str:
    return response.json()["detail"]


async def test_issued_tokens_expire_in_8_hours_by_default_and_have_their_own_jti():
    first, second = (jwt.decode(issue_token(SECRET, "lan", "admin"), SECRET, ["HS256"])
                     for _ in range(2))
    assert first["exp"] - first["iat"] == DEFAULT_TTL_S == 8 * 3600
    assert first["jti"] and first["jti"] != second["jti"]
    short = jwt.decode(issue_token(SECRET, "lan", "admin", ttl_s=60), SECRET, ["HS256"])
    assert short["exp"] - short["iat"] == 60


async def test_a_token_without_exp_is_401(client):
    forged = jwt.encode({"sub": "x", "role": "admin", "iat": int(time.time()), "iss": ISSUER,
                         "jti": "j"}, SECRET, algorithm="HS256")
    response = await client.get("/api/v1/me", headers=header(forged))
    assert response.status_code == 401
    assert "exp" in detail(response)


async def test_an_expired_token_is_401(client):
    now = int(time.time())
    expired = jwt.encode({"sub": "x", "role": "admin", "iat": now - 7200, "exp": now - 3600},
                         SECRET, algorithm="HS256")
    response = await client.get("/api/v1/me", headers=header(expired))
    assert response.status_code == 401 and "expired" in detail(response)


async def test_a_token_accepted_once_is_refused_when_it_expires(client):
    """Verified tokens are kept to spare the signature check; kept no longer than they are good."""
    now = time.time()
    expires = int(now) - LEEWAY_S + 2  # good for about 1-2 more seconds, by the leeway
    token = jwt.encode({"sub": "x", "role": "admin", "iat": expires - 60, "exp": expires},
                       SECRET, algorithm="HS256")
    assert (await client.get("/api/v1/me", headers=header(token))).status_code == 200
    await asyncio.sleep(expires + LEEWAY_S - time.time() + 0.2)
    response = await client.get("/api/v1/me", headers=header(token))
    assert response.status_code == 401 and "expired" in detail(response)


async def test_an_officer_of_a_registered_agency_is_let_in(client, registered_agencies):
    registered_agencies.add("SO-GTVT")
    response = await client.get("/api/v1/me", headers=header(person("officer", "SO-GTVT")))
    assert response.status_code == 200 and response.json()["agency"] == "SO-GTVT"


async def test_a_wildcard_or_unknown_agency_is_401_with_a_clear_message(client):
    for code in ("*", ">", "SO-TP.>", ""):
        token = jwt.encode({"sub": "x", "role": "officer", "agency": code,
                            "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
        response = await client.get("/api/v1/events", headers=header(token))
        assert response.status_code == 401, code
    unknown = f"SO-{uuid.uuid4().hex[:6]}"
    response = await client.get("/api/v1/events", headers=header(person("officer", unknown)))
    assert response.status_code == 401
    assert detail(response) == f"invalid token: agency {unknown} is not a registered agency"
    wildcard = jwt.encode({"sub": "x", "role": "inspector", "agency": "*",
                           "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    response = await client.get("/api/v1/events", headers=header(wildcard))
    assert response.status_code == 401 and "'*' is not an agency code" in detail(response)


async def test_an_agency_registered_after_a_miss_is_found_once_the_miss_is_forgotten(
    client, settings, registered_agencies
):
    code = f"SO-{uuid.uuid4().hex[:6]}"
    token = person("officer", code)
    assert (await client.get("/api/v1/me", headers=header(token))).status_code == 401
    registered_agencies.add(code)  # the dossier service now lists it
    await asyncio.sleep(settings.agency_miss_ttl_s + 0.1)
    assert (await client.get("/api/v1/me", headers=header(token))).status_code == 200


async def test_when_nobody_can_say_whether_the_agency_exists_it_is_503():
    from cchc.gateway.config import GatewaySettings
    from cchc.runtime.natsserver import temporary_server

    server = temporary_server().start()  # a server where no dossier service answers
    try:
        app = create_app(GatewaySettings(nats_url=server.url, jwt_secret=SECRET,
                                         request_timeout=0.5))
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
                officer = await http.get("/api/v1/me", headers=header(person("officer", "SO-TP")))
                admin = await http.get("/api/v1/me", headers=header(person("admin")))
    finally:
        server.stop()
    assert officer.status_code == 503 and officer.headers["Retry-After"]
    assert admin.status_code == 200  # no agency, nothing to ask


async def test_revocation_is_admin_only_and_needs_exactly_one_of_jti_and_sub(client, as_role):
    for role, agency in (("home_affairs", None), ("inspector", None), ("officer", "SO-TP")):
        response = await client.post("/api/v1/admin/revocations", json={"jti": "x"},
                                     headers=as_role(role, agency))
        assert response.status_code == 403, role
        assert (await client.get("/api/v1/admin/revocations",
                                 headers=as_role(role, agency))).status_code == 403
    admin = header(person())
    for body in ({}, {"jti": "a", "sub": "b"}, {"jti": ""}):
        response = await client.post("/api/v1/admin/revocations", json=body, headers=admin)
        assert response.status_code == 422, body
    assert (await client.post("/api/v1/admin/revocations", json={"jti": "x"})).status_code == 401


async def test_a_token_revoked_by_jti_is_401_and_others_of_its_subject_are_not(client):
    admin = header(person())
    sub = f"hoa-{uuid.uuid4().hex[:6]}"
    token, other = (issue_token(SECRET, sub, "inspector") for _ in range(2))
    jti = jwt.decode(token, SECRET, ["HS256"])["jti"]
    assert (await client.get("/api/v1/me", headers=header(token))).status_code == 200

    answer = await client.post("/api/v1/admin/revocations",
                               json={"jti": jti, "reason": "máy bị mất"}, headers=admin)
    assert answer.status_code == 201, answer.text
    revocation = answer.json()
    assert revocation["kind"] == "jti" and revocation["value"] == jti
    assert revocation["reason"] == "máy bị mất" and revocation["revoked_by"].startswith("p-")

    response = await client.get("/api/v1/me", headers=header(token))
    assert response.status_code == 401 and "revoked" in detail(response)
    assert (await client.get("/api/v1/me", headers=header(other))).status_code == 200
    listed = (await client.get("/api/v1/admin/revocations", headers=admin)).json()["items"]
    assert any(r["kind"] == "jti" and r["value"] == jti for r in listed)


async def test_revoking_a_subject_refuses_its_earlier_tokens_but_not_later_ones(client):
    admin = header(person())
    sub = f"minh-{uuid.uuid4().hex[:6]}"
    earlier = issue_token(SECRET, sub, "inspector")
    answer = await client.post("/api/v1/admin/revocations", json={"sub": sub}, headers=admin)
    assert answer.status_code == 201
    assert (await client.get("/api/v1/me", headers=header(earlier))).status_code == 401
    await asyncio.sleep(1.1)  # iat has whole seconds
    later = issue_token(SECRET, sub, "inspector")
    assert (await client.get("/api/v1/me", headers=header(later))).status_code == 200


async def test_a_second_gateway_refuses_a_token_revoked_through_the_first(client, settings):
    token = person("inspector")
    jti = jwt.decode(token, SECRET, ["HS256"])["jti"]
    second = create_app(settings)
    async with second.router.lifespan_context(second):
        transport = httpx.ASGITransport(app=second)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw2") as replica:
            assert (await replica.get("/api/v1/me", headers=header(token))).status_code == 200
            revoked = await client.post("/api/v1/admin/revocations", json={"jti": jti},
                                        headers=header(person()))
            assert revoked.status_code == 201
            started = time.monotonic()
            while time.monotonic() - started < 3:
                status = (await replica.get("/api/v1/me", headers=header(token))).status_code
                if status == 401:
                    break
                await asyncio.sleep(0.05)
            assert status == 401, "the second replica still accepts the revoked token"
            assert time.monotonic() - started < 3
    # A replica started after the revocation loads it from the bucket.
    third = create_app(settings)
    async with third.router.lifespan_context(third):
        transport = httpx.ASGITransport(app=third)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw3") as late:
            assert (await late.get("/api/v1/me", headers=header(token))).status_code == 401


async def test_the_startup_log_names_the_nats_node_never_its_password(tmp_path, caplog):
    """The URL carries the gateway's NATS password: deployed, it went into the log (and from
    there to whoever reads the logs) on every start."""
    import logging

    from cchc.gateway.config import GatewaySettings
    from cchc.runtime.natsserver import NatsServer

    password = "s3cret-not-for-logs"
    config = tmp_path / "auth.conf"
    config.write_text(f"authorization {{ user: gateway, password: {password} }}\n")
    server = NatsServer(store_dir=tmp_path / "nats", config_file=config).start()
    try:
        url = f"nats://gateway:{password}@{server.host}:{server.port}"
        app = create_app(GatewaySettings(nats_url=url, jwt_secret=SECRET))
        with caplog.at_level(logging.INFO):
            async with app.router.lifespan_context(app):
                pass
    finally:
        server.stop()
    said = "\n".join(record.getMessage() for record in caplog.records)
    assert f"gateway connected to NATS at {server.host}:{server.port}" in said
    assert password not in said
