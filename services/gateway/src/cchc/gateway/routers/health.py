"""Health: the gateway is ready only when NATS is connected and every service answers."""

import asyncio
import uuid

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cchc.contracts.gateway_views import Health
from cchc.contracts.messages import CommandMeta, Principal, Problem, Request, Role
from cchc.gateway.deps import GatewayDep
from cchc.gateway.problems import MEDIA_TYPE, problem_responses
from cchc.runtime.endpoints import ServiceUnavailable

router = APIRouter(tags=["operations"])
# The probe reads nothing, but a Request must name someone: the least privileged role.
_PROBE = Principal(sub="gateway-health", role=Role.INSPECTOR)


async def _service_ready(gw: GatewayDep, service: str) -> bool:
    meta = CommandMeta(principal=_PROBE, correlation_id=str(uuid.uuid4()))
    try:
        reply = await gw.health_probe.call(service, "health", Request(meta=meta, body={}))
    except ServiceUnavailable:
        return False
    return reply.ok


@router.get("/health", operation_id="health", response_model=Health, responses=problem_responses(503))
async def health(gw: GatewayDep) -> JSONResponse:
    services = gw.settings.services
    states = await asyncio.gather(*(_service_ready(gw, s) for s in services))
    connected = gw.nc.is_connected
    report = {
        "nats": "ok" if connected else "down",
        "services": {s: "ok" if up else "down" for s, up in zip(services, states, strict=True)},
    }
    if connected and all(states):
        return JSONResponse({"status": "ok", **report})
    down = [s for s, up in zip(services, states, strict=True) if not up]
    detail = "not connected to NATS" if not connected else f"not answering: {', '.join(down)}"
    # Extension members of the problem carry the same report a healthy answer would.
    body = Problem(title="Service unavailable", status=503, detail=detail).model_dump(mode="json")
    return JSONResponse({**body, **report}, status_code=503, media_type=MEDIA_TYPE,
                        headers={"Retry-After": "5"})
