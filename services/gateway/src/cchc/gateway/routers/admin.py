"""Administration of the installation: token revocations (admin only)."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field, model_validator

from cchc.contracts.messages import Principal, Role
from cchc.gateway.deps import Caller, GatewayDep
from cchc.gateway.problems import PROBLEM_RESPONSES, problem
from cchc.gateway.revocation import Revocation, RevocationsUnavailable

router = APIRouter(prefix="/api/v1/admin", tags=["administration"], responses=PROBLEM_RESPONSES)


async def admin(caller: Caller) -> Principal:
    if caller.role != Role.ADMIN:
        raise problem(403, "only an admin may do this")
    return caller


Admin = Annotated[Principal, Depends(admin)]


class RevokeTokens(BaseModel):
    """Exactly one of ``jti`` (that token) and ``sub`` (every token of that subject issued until
    now; tokens issued later are good)."""

    jti: str | None = Field(default=None, min_length=1, max_length=256)
    sub: str | None = Field(default=None, min_length=1, max_length=256)
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def one_of_jti_and_sub(self) -> "RevokeTokens":
        if (self.jti is None) == (self.sub is None):
            raise ValueError("give exactly one of jti and sub")
        return self


class RevocationList(BaseModel):
    items: list[Revocation]


@router.post("/revocations", status_code=201, operation_id="revoke_tokens",
             response_model=Revocation)
async def revoke_tokens(body: RevokeTokens, gw: GatewayDep, caller: Admin) -> Revocation:
    kind, value = ("jti", body.jti) if body.jti is not None else ("sub", body.sub)
    assert value is not None
    try:
        return await gw.authenticator.revocations.revoke(kind, value, caller.sub, body.reason)
    except RevocationsUnavailable:
        raise problem(503, "the revocation list is unavailable; try again",
                      headers={"Retry-After": "2"}) from None


@router.get("/revocations", operation_id="list_revocations", response_model=RevocationList)
async def list_revocations(gw: GatewayDep, caller: Admin) -> RevocationList:
    return RevocationList(items=gw.authenticator.revocations.all())
