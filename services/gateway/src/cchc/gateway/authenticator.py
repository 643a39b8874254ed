"""Who sends a request: a bearer token checked in full.

1. Its signature: HS256 with the installation's secret (the embedded default), or, when an OIDC
   issuer is configured, RS256/ES256 by a key of the issuer's JWKS (``cchc.gateway.oidc``).
   Either way the token must expire (``exp``).
2. Not revoked, by its ``jti`` or its subject (``cchc.gateway.revocation``).
3. Its agency, when it names one, a registered agency code (``cchc.gateway.agencies``): ``*``
   or a code nobody registered is refused.

Made from the gateway's NATS connection: ``await Authenticator.start(nc, settings, services)``, and
``await authenticator.close()`` before the connection drains.
"""

import time

import jwt
from cachetools import TLRUCache
from nats.aio.client import Client as NATS

from cchc.contracts.messages import Principal
from cchc.runtime.endpoints import ServiceClient
from cchc.gateway.agencies import AgencyDirectory, DirectoryUnavailable, is_agency_code
from cchc.gateway.auth import ALGORITHM, LEEWAY_S, InvalidToken, VerifiedToken, verify_token
from cchc.gateway.config import GatewaySettings
from cchc.gateway.oidc import OidcVerifier, ProviderUnavailable
from cchc.gateway.revocation import RevocationList


# Tokens whose signature checked out, kept until they expire: checking a signature costs about as
# much as forwarding the request. Revocation and the agency are checked on every request
# regardless; a token that failed is never kept.
VERIFIED_TOKENS_KEPT = 10_000


def _verified_until(_token: str, verified: VerifiedToken, _now: float) -> float:
    return verified.expires_at + LEEWAY_S  # as long as jwt.decode would accept it


class CannotAuthenticate(Exception):
    """What the check needs (the dossier service, the identity provider) did not answer."""


class Authenticator:
    def __init__(self, settings: GatewaySettings, revocations: RevocationList,
                 agencies: AgencyDirectory, oidc: OidcVerifier | None = None) -> None:
        self.settings = settings
        self.revocations = revocations
        self.agencies = agencies
        self.oidc = oidc
        self._verified: TLRUCache[str, VerifiedToken] = TLRUCache(
            VERIFIED_TOKENS_KEPT, _verified_until, timer=time.time)

    @classmethod
    async def start(
        cls, nc: NATS, settings: GatewaySettings, services: ServiceClient
    ) -> "Authenticator":
        revocations = await RevocationList.start(nc, replicas=settings.stream_replicas)
        agencies = AgencyDirectory(nc, services,
                                   miss_ttl_s=settings.agency_miss_ttl_s,
                                   refresh_s=settings.agency_refresh_s)
        oidc = OidcVerifier(settings) if settings.oidc_issuer else None
        return cls(settings, revocations, agencies, oidc)

    async def close(self) -> None:
        await self.revocations.close()
        if self.oidc is not None:
            await self.oidc.close()

    async def verify(self, token: str) -> VerifiedToken:
        """The checked token; InvalidToken (401) or CannotAuthenticate (503)."""
        verified = self._verified.get(token)
        if verified is None:
            verified = await self._verify_signature(token)
            self._verified[token] = verified
        principal = verified.principal
        reason = self.revocations.is_revoked(principal.sub, verified.jti, verified.issued_at)
        if reason:
            raise InvalidToken(reason)
        if principal.agency is not None:
            await self._check_agency(principal.agency)
        return verified

    async def _verify_signature(self, token: str) -> VerifiedToken:
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        if algorithm == ALGORITHM:
            return verify_token(self.settings.jwt_secret, token)
        if self.oidc is None:
            raise InvalidToken(f"algorithm {algorithm!r} is not accepted")
        try:
            return await self.oidc.verify(token)
        except ProviderUnavailable as error:
            raise CannotAuthenticate(f"the identity provider did not answer: {error}") from None

    async def principal(self, token: str) -> Principal:
        return (await self.verify(token)).principal

    async def _check_agency(self, code: str) -> None:
        if not is_agency_code(code):
            raise InvalidToken(f"agency {code!r} is not an agency code")
        try:
            registered = await self.agencies.is_registered(code)
        except DirectoryUnavailable:
            raise CannotAuthenticate("the list of agencies is unavailable") from None
        if not registered:
            raise InvalidToken(f"agency {code} is not a registered agency")
