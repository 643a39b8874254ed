"""Health (every service answers) and who the caller is."""

import asyncio
import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.gateway.deps import Caller, GatewayDep
from cchc.runtime.rpc import ServiceUnavailable

router = APIRouter(tags=["operations"])
_PROBE = Principal(sub="gateway-health", role=Role.INSPECTOR)


async def _service_ready(gw: GatewayDep, service: str) -> bool:
    meta = CommandMeta(principal=_PROBE, correlation_id=str(uuid.uuid4()))
    try:
        reply = await gw.services.call(service, "health", Request(meta=meta, body={}))
    except ServiceUnavailable:
        return False
    return reply.ok


@router.get("/health", operation_id="health")
async def health(gw: GatewayDep):
    states = await asyncio.gather(*(_service_ready(gw, s) for s in gw.settings.services))
    services = dict(zip(gw.settings.services, ("ok" if s else "down" for s in states), strict=True))
    ready = all(states) and gw.nc.is_connected
    return JSONResponse({"status": "ok" if ready else "unavailable", "services": services},
                        status_code=200 if ready else 503)


@router.get("/api/v1/me", operation_id="who_am_i")
async def who_am_i(caller: Caller):
    return caller.model_dump(mode="json")
