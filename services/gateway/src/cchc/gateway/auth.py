"""Bearer tokens: HS256 JWTs with the claims sub, role and (for an officer) agency."""

import time

import jwt
from pydantic import ValidationError

from cchc.contracts.messages import Principal, Role

ALGORITHM = "HS256"
ISSUER = "cchc-ledger"
# Clocks of the issuer and the gateway may disagree a little about iat and exp.
LEEWAY_S = 30


class InvalidToken(Exception):
    pass


def issue_token(
    secret: str, sub: str, role: str, agency: str | None = None, ttl_s: int | None = None
) -> str:
    now = int(time.time())
    claims: dict[str, object] = {"sub": sub, "role": Role(role).value, "iat": now, "iss": ISSUER}
    if agency:
        claims["agency"] = agency
    if ttl_s:
        claims["exp"] = now + ttl_s
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def principal_from_token(secret: str, token: str) -> Principal:
    try:
        # API.md names only sub, role and agency: a token another system signs with the shared
        # secret need not carry our issuer, but one that names another issuer is not ours.
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], leeway=LEEWAY_S,
            options={"require": ["sub", "role"]},
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
    return principal
