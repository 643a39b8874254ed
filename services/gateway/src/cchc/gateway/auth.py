"""Bearer tokens of the installation: HS256 JWTs with the claims sub, role, (for an officer)
agency, and always ``exp`` and ``jti``.

Tokens of a province's identity provider (RS256/ES256) are checked in ``cchc.gateway.oidc``;
revocation and the agency check happen in ``cchc.gateway.authenticator``.
"""

import time
import uuid
from dataclasses import dataclass

import jwt
from pydantic import ValidationError

from cchc.contracts.messages import Principal, Role

ALGORITHM = "HS256"
ISSUER = "cchc-ledger"
# Clocks of the issuer and the gateway may disagree a little about iat and exp.
LEEWAY_S = 30
# A person's token lasts a working day unless asked otherwise (`cchc token --ttl`).
DEFAULT_TTL_S = 8 * 3600


class InvalidToken(Exception):
    pass


@dataclass(frozen=True)
class VerifiedToken:
    """A token whose signature, issuer and expiry were checked: who it names and its ids."""

    principal: Principal
    jti: str | None
    issued_at: float | None
    expires_at: float


def issue_token(
    secret: str, sub: str, role: str, agency: str | None = None, ttl_s: int | None = None
) -> str:
    """A token that always expires (``ttl_s``, else DEFAULT_TTL_S) and has its own ``jti``."""
    now = int(time.time())
    lifetime = ttl_s if ttl_s and ttl_s > 0 else DEFAULT_TTL_S
    claims: dict[str, object] = {
        "sub": sub, "role": Role(role).value, "iat": now, "exp": now + lifetime, "iss": ISSUER,
        "jti": uuid.uuid4().hex,
    }
    if agency:
        claims["agency"] = agency
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify_token(secret: str, token: str) -> VerifiedToken:
    try:
        # API.md names only sub, role and agency: a token another system signs with the shared
        # secret need not carry our issuer, but one that names another issuer is not ours. It
        # must expire: a token without exp would be good forever.
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], leeway=LEEWAY_S,
            options={"require": ["sub", "role", "exp"]},
        )
        if claims.get("iss", ISSUER) != ISSUER:
            raise InvalidToken(f"issuer {claims['iss']!r} is not {ISSUER!r}")
        principal = Principal(sub=claims["sub"], role=claims["role"], agency=claims.get("agency"))
    except jwt.PyJWTError as error:
        raise InvalidToken(str(error)) from error
    except ValidationError as error:
        reasons = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())
        raise InvalidToken(reasons) from None
    if principal.role == Role.OFFICER and not principal.agency:
        raise InvalidToken("an officer's token names its agency")
    jti = claims.get("jti")
    iat = claims.get("iat")
    return VerifiedToken(
        principal=principal, jti=str(jti) if jti is not None else None,
        issued_at=float(iat) if isinstance(iat, int | float) else None,
        expires_at=float(claims["exp"]),
    )


def principal_from_token(secret: str, token: str) -> Principal:
    """The principal of an installation token (signature, issuer and expiry checked only)."""
    return verify_token(secret, token).principal
