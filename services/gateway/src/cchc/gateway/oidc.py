"""Tokens of the province's identity provider (any OIDC issuer: Keycloak, ...).

The discovery document (``<issuer>/.well-known/openid-configuration``) names the JWKS; its keys
are cached (``oidc_jwks_max_age_s``) and fetched again when a token names a ``kid`` the cache
does not hold (a key rotation), at most every ``oidc_jwks_min_refresh_s``. A token must be
signed with one of ``oidc_algorithms`` (RS256/ES256, never HS256 nor ``none``) by a key of that
JWKS, name the configured issuer and audience, and expire. Who it names comes from configurable
claim paths: the subject, the role (a string or a list such as Keycloak's
``realm_access.roles``) and, for an officer, the agency (a string or a list such as a group
claim, under ``oidc_agency_prefix``).
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
from pydantic import ValidationError

from cchc.contracts.messages import Principal, Role
from cchc.gateway.auth import LEEWAY_S, InvalidToken, VerifiedToken
from cchc.gateway.config import GatewaySettings
from cchc.gateway.outbound_http import outbound_client

log = logging.getLogger("cchc.gateway.oidc")

DISCOVERY_PATH = "/.well-known/openid-configuration"
# When a claim grants several of our roles, the one that can do most is taken.
ROLE_PRECEDENCE = [Role.ADMIN, Role.HOME_AFFAIRS, Role.INSPECTOR, Role.OFFICER]
ASYMMETRIC = {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}


class ProviderUnavailable(Exception):
    """The discovery document or the JWKS could not be fetched."""


@dataclass(frozen=True)
class Discovery:
    issuer: str
    jwks_uri: str
    authorization_endpoint: str | None
    token_endpoint: str | None
    end_session_endpoint: str | None


def claim_at(claims: dict[str, Any], path: str) -> Any:
    """The value at a dot-separated path (``realm_access.roles``), or None."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def _as_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


class OidcVerifier:
    """Checks tokens of one issuer; ``close()`` when done."""

    def __init__(self, settings: GatewaySettings, http: httpx.AsyncClient | None = None) -> None:
        if not settings.oidc_issuer:
            raise ValueError("oidc_issuer is not set")
        self.settings = settings
        self.issuer = settings.oidc_issuer.rstrip("/")
        self.audience = settings.oidc_audience or settings.oidc_client_id
        if not self.audience:
            raise ValueError("set oidc_audience (or oidc_client_id): the audience is always checked")
        self.algorithms = [a for a in settings.oidc_algorithms if a in ASYMMETRIC]
        self._http = http or outbound_client(settings.oidc_http_timeout_s)
        self._discovery: Discovery | None = None
        self._keys: dict[str, jwt.PyJWK] = {}
        self._keys_fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def close(self) -> None:
        await self._http.aclose()

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            answer = await self._http.get(url, headers={"Accept": "application/json"})
            answer.raise_for_status()
            document = answer.json()
        except (httpx.HTTPError, ValueError) as error:
            raise ProviderUnavailable(f"{url}: {error}") from error
        if not isinstance(document, dict):
            raise ProviderUnavailable(f"{url}: not a JSON object")
        return document

    async def discovery(self) -> Discovery:
        if self._discovery is None:
            document = await self._get_json(self.issuer + DISCOVERY_PATH)
            # OIDC Discovery 4.3: the document's issuer is exactly the one it was fetched for.
            if str(document.get("issuer", "")).rstrip("/") != self.issuer:
                raise ProviderUnavailable(
                    f"the discovery document names issuer {document.get('issuer')!r}, "
                    f"not {self.issuer!r}")
            if not isinstance(document.get("jwks_uri"), str):
                raise ProviderUnavailable("the discovery document has no jwks_uri")
            self._discovery = Discovery(
                issuer=document["issuer"], jwks_uri=document["jwks_uri"],
                authorization_endpoint=document.get("authorization_endpoint"),
                token_endpoint=document.get("token_endpoint"),
                end_session_endpoint=document.get("end_session_endpoint"),
            )
        return self._discovery

    async def _refresh_keys(self) -> None:
        discovery = await self.discovery()
        document = await self._get_json(discovery.jwks_uri)
        keys: dict[str, jwt.PyJWK] = {}
        for index, jwk in enumerate(document.get("keys") or []):
            if not isinstance(jwk, dict) or jwk.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(jwk)
            except jwt.PyJWTError as error:  # a key type we cannot use: skipped, not fatal
                log.warning("JWKS key %s skipped: %s", jwk.get("kid", index), error)
                continue
            keys[str(jwk.get("kid", f"#{index}"))] = key
        self._keys = keys
        self._keys_fetched_at = time.monotonic()
        log.info("JWKS of %s: %d keys (%s)", self.issuer, len(keys), ", ".join(keys))

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        async with self._lock:
            age = time.monotonic() - self._keys_fetched_at
            stale = age > self.settings.oidc_jwks_max_age_s
            unknown = (kid not in self._keys) if kid is not None else len(self._keys) != 1
            if stale or (unknown and age >= self.settings.oidc_jwks_min_refresh_s):
                try:
                    await self._refresh_keys()
                except ProviderUnavailable:
                    if unknown or not self._keys:
                        raise
                    # The provider is down: the keys we hold stay good until it is back.
                    log.warning("JWKS of %s could not be refreshed", self.issuer, exc_info=True)
        if kid is None:
            if len(self._keys) == 1:
                return next(iter(self._keys.values()))
            raise InvalidToken("the token names no key (kid) and the issuer has several")
        if kid not in self._keys:
            raise InvalidToken(f"key {kid!r} is not in the issuer's JWKS")
        return self._keys[kid]

    async def verify(self, token: str) -> VerifiedToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        algorithm = header.get("alg")
        if algorithm not in self.algorithms:
            raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
        key = await self._key(header.get("kid"))
        if key.algorithm_name != algorithm:
            raise InvalidToken(f"key {header.get('kid')!r} is for {key.algorithm_name}, "
                               f"not {algorithm}")
        try:
            claims = jwt.decode(
                token, key.key, algorithms=[algorithm], audience=self.audience,
                issuer=self.issuer_claim, leeway=LEEWAY_S,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        principal = self.principal(claims)
        jti = claims.get("jti")
        iat = claims.get("iat")
        return VerifiedToken(
            principal=principal, jti=str(jti) if jti is not None else None,
            issued_at=float(iat) if isinstance(iat, int | float) else None,
            expires_at=float(claims["exp"]),
        )

    @property
    def cached_discovery(self) -> Discovery | None:
        return self._discovery

    @property
    def issuer_claim(self) -> str:
        # The iss claim is the discovery document's issuer, byte for byte.
        return self._discovery.issuer if self._discovery else self.issuer

    def principal(self, claims: dict[str, Any]) -> Principal:
        settings = self.settings
        sub = claim_at(claims, settings.oidc_sub_claim)
        if not isinstance(sub, str) or not sub:
            raise InvalidToken(f"the token has no {settings.oidc_sub_claim} claim")
        granted = set()
        for name in _as_list(claim_at(claims, settings.oidc_role_claim)):
            mapped = settings.oidc_role_map.get(name, name)
            if mapped in {role.value for role in Role}:
                granted.add(Role(mapped))
        role = next((r for r in ROLE_PRECEDENCE if r in granted), None)
        if role is None:
            raise InvalidToken(f"the token's {settings.oidc_role_claim} grants no role of "
                               "this system")
        agency = None
        if role == Role.OFFICER:
            prefix = settings.oidc_agency_prefix
            codes = {value[len(prefix):] for value in
                     _as_list(claim_at(claims, settings.oidc_agency_claim))
                     if value.startswith(prefix) and len(value) > len(prefix)}
            if not codes:
                raise InvalidToken(f"an officer's token names its agency "
                                   f"(claim {settings.oidc_agency_claim})")
            if len(codes) > 1:
                raise InvalidToken(f"the token names several agencies: {', '.join(sorted(codes))}")
            agency = codes.pop()
        try:
            return Principal(sub=sub, role=role, agency=agency)
        except ValidationError as error:
            raise InvalidToken(str(error)) from None
