"""Bearer tokens: HS256 JWTs with the claims sub, role and (for an officer) agency."""

import time

import jwt
from pydantic import ValidationError

from cchc.contracts.messages import Principal, Role

ALGORITHM = "HS256"
ISSUER = "cchc-ledger"


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
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER,
            options={"require": ["sub", "role", "iss"]},
        )
        principal = Principal(sub=claims["sub"], role=claims["role"], agency=claims.get("agency"))
    except (jwt.PyJWTError, ValidationError, KeyError) as error:
        raise InvalidToken(str(error)) from error
    if principal.role == Role.OFFICER and not principal.agency:
        raise InvalidToken("an officer's token names its agency")
    return principal
