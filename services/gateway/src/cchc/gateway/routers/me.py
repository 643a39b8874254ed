"""Who the caller is, as the gateway understood its token (for dashboards and debugging)."""

from fastapi import APIRouter

from cchc.contracts.messages import Principal
from cchc.gateway.deps import Caller
from cchc.gateway.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["operations"], responses=PROBLEM_RESPONSES)


@router.get("/me", operation_id="who_am_i", response_model=Principal)
async def who_am_i(caller: Caller) -> Principal:
    return caller
