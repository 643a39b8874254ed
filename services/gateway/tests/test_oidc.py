"""Single sign-on: tokens of an OIDC issuer (issue 13, item 3).

The issuer is a real HTTP server on 127.0.0.1 (http.server in a thread) serving its discovery
document and its JWKS, with real RSA and EC keys; the gateway runs on the real nats-server.
"""

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cchc.gateway.app import create_app
from cchc.gateway.auth import issue_token
from cchc.gateway.config import GatewaySettings

CLIENT_ID = "cchc-dashboard"


class Key:
    def __init__(self, kind: str) -> None:
        self.kid = f"{kind}-{uuid.uuid4().hex[:8]}"
        if kind == "rsa":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            self.algorithm = "RS256"
            jwk = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            self.algorithm = "ES256"
            jwk = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk = {**jwk, "kid": self.kid, "use": "sig", "alg": self.algorithm}


class Issuer:
    """The province's identity provider, as far as the gateway sees it."""

    def __init__(self) -> None:
        self.keys: list[Key] = [Key("rsa"), Key("ec")]
        self.jwks_fetches = 0
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/realms/tinh"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                base = issuer.url
                if self.path == "/realms/tinh/.well-known/openid-configuration":
                    body: dict[str, Any] = {
                        "issuer": base, "jwks_uri": f"{base}/protocol/openid-connect/certs",
                        "authorization_endpoint": f"{base}/protocol/openid-connect/auth",
                        "token_endpoint": f"{base}/protocol/openid-connect/token",
                        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                    }
                elif self.path == "/realms/tinh/protocol/openid-connect/certs":
                    issuer.jwks_fetches += 1
                    body = {"keys": [key.jwk for key in issuer.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    def token(self, key: Key | None = None, **overrides: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url, "aud": CLIENT_ID, "sub": str(uuid.uuid4()), "iat": now,
            "exp": now + 300, "jti": uuid.uuid4().hex, "preferred_username": "nguyen.van.an",
            "realm_access": {"roles": ["offline_access", "cchc-officer"]},
            "groups": ["/agencies/SO-TP", "/staff"],
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key.private, algorithm=key.algorithm, headers={"kid": key.kid})


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    provider = Issuer()
    provider.thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


@pytest.fixture
def oidc_settings(settings, issuer) -> GatewaySettings:
    return GatewaySettings(**{
        **settings.model_dump(),
        "oidc_issuer": issuer.url, "oidc_client_id": CLIENT_ID,
        "oidc_sub_claim": "preferred_username", "oidc_role_claim": "realm_access.roles",
        "oidc_role_map": {"cchc-officer": "officer", "cchc-admin": "admin",
                          "cchc-inspector": "inspector"},
        "oidc_agency_claim": "groups", "oidc_agency_prefix": "/agencies/",
        "oidc_jwks_min_refresh_s": 0,
    })


@pytest.fixture
async def sso(oidc_settings, registered_agencies) -> AsyncIterator[httpx.AsyncClient]:
    registered_agencies.add("SO-TP")
    app = create_app(oidc_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as http:
            yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/v1/me", headers=bearer(token))


async def test_an_officer_of_the_provider_signs_in_with_rs256_and_es256(sso, issuer):
    rsa_key, ec_key = issuer.keys
    for key in (rsa_key, ec_key):
        response = await me(sso, issuer.token(key))
        assert response.status_code == 200, response.text
        assert response.json() == {"sub": "nguyen.van.an", "role": "officer", "agency": "SO-TP"}
    admin = issuer.token(ec_key, realm_access={"roles": ["cchc-admin", "cchc-officer"]},
                         groups=None, preferred_username="quan.tri")
    assert (await me(sso, admin)).json() == {"sub": "quan.tri", "role": "admin", "agency": None}


async def test_the_installations_hs256_tokens_still_work_beside_the_provider(sso, secret):
    response = await me(sso, issue_token(secret, "lan", "inspector"))
    assert response.status_code == 200 and response.json()["role"] == "inspector"


async def test_a_rotated_key_is_fetched_when_a_token_names_its_new_kid(sso, issuer):
    assert (await me(sso, issuer.token())).status_code == 200
    fetched = issuer.jwks_fetches
    new_key = Key("rsa")
    issuer.keys = [new_key]  # the provider rotates: the old key is gone
    response = await me(sso, issuer.token(new_key))
    assert response.status_code == 200, response.text
    assert issuer.jwks_fetches == fetched + 1
    # Cached now: the next token of that key costs no fetch.
    assert (await me(sso, issuer.token(new_key))).status_code == 200
    assert issuer.jwks_fetches == fetched + 1


async def test_a_key_the_issuer_does_not_publish_is_401(sso, issuer):
    stranger = Key("ec")
    response = await me(sso, issuer.token(stranger))
    assert response.status_code == 401
    assert stranger.kid in response.json()["detail"]


async def test_an_expired_token_is_401(sso, issuer):
    now = int(time.time())
    response = await me(sso, issuer.token(iat=now - 3600, exp=now - 600))
    assert response.status_code == 401 and "expired" in response.json()["detail"]


async def test_a_token_without_exp_is_401(sso, issuer):
    response = await me(sso, issuer.token(exp=None))
    assert response.status_code == 401 and "exp" in response.json()["detail"]


async def test_a_token_for_another_audience_is_401(sso, issuer):
    response = await me(sso, issuer.token(aud="account"))
    assert response.status_code == 401 and "audience" in response.json()["detail"].lower()


async def test_a_token_of_another_issuer_is_401(sso, issuer):
    response = await me(sso, issuer.token(iss="http://127.0.0.1:1/realms/other"))
    assert response.status_code == 401 and "issuer" in response.json()["detail"].lower()


async def test_an_officer_without_an_agency_claim_is_401(sso, issuer):
    for groups in (None, ["/staff"], "/agencies/"):
        response = await me(sso, issuer.token(groups=groups))
        assert response.status_code == 401, groups
        assert "agency" in response.json()["detail"]


async def test_an_unregistered_agency_or_no_role_of_ours_is_401(sso, issuer):
    response = await me(sso, issuer.token(groups=["/agencies/SO-CHUA-CO"]))
    assert response.status_code == 401
    assert "SO-CHUA-CO is not a registered agency" in response.json()["detail"]
    response = await me(sso, issuer.token(realm_access={"roles": ["offline_access"]}))
    assert response.status_code == 401 and "role" in response.json()["detail"]


async def test_algorithm_tricks_are_401(sso, issuer, secret):
    key = issuer.keys[0]
    now = int(time.time())
    claims = {"iss": issuer.url, "aud": CLIENT_ID, "sub": "x", "exp": now + 60,
              "role": "admin", "realm_access": {"roles": ["cchc-admin"]}}
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": key.kid})
    assert (await me(sso, unsigned)).status_code == 401
    # HS256 signed with the public key's text is checked against the installation's secret.
    public_pem = key.jwk["n"]
    assert (await me(sso, jwt.encode(claims, public_pem * 2, algorithm="HS256"))).status_code == 401
    # An ES256 header on a token whose kid is the RSA key.
    ec_signed = jwt.encode(claims, issuer.keys[1].private, algorithm="ES256",
                           headers={"kid": key.kid})
    assert (await me(sso, ec_signed)).status_code == 401


async def test_a_revoked_provider_token_is_401(sso, issuer, secret):
    token = issuer.token()
    assert (await me(sso, token)).status_code == 200
    admin = bearer(issue_token(secret, "quan-tri", "admin"))
    answer = await sso.post("/api/v1/admin/revocations",
                            json={"jti": jwt.decode(token, options={"verify_signature": False})["jti"]},
                            headers=admin)
    assert answer.status_code == 201
    assert (await me(sso, token)).status_code == 401


async def test_the_dashboard_is_told_how_to_sign_in(sso, issuer, client):
    config = (await sso.get("/dashboard/sign-in.json")).json()["oidc"]
    assert config["issuer"] == issuer.url and config["client_id"] == CLIENT_ID
    assert config["authorization_endpoint"].endswith("/protocol/openid-connect/auth")
    assert config["token_endpoint"].endswith("/protocol/openid-connect/token")
    page = await sso.get("/dashboard/")
    origin = issuer.url.split("/realms")[0]
    assert f"connect-src 'self' {origin}" in page.headers["Content-Security-Policy"]
    # Without a provider the page keeps its token form.
    assert (await client.get("/dashboard/sign-in.json")).json() == {"oidc": None}
    assert "connect-src" not in (await client.get("/dashboard/")).headers[
        "Content-Security-Policy"]
