"""Health: the gateway is ready only when NATS is connected and every service answers.

Beside readiness, what an operator watches during an upgrade or after a night: each service's
projection versions (the one serving and how far the log it has applied, and the one replaying
beside it, if any, with its position and the head it replays to), and how the last scheduled
backup went, as the backup job recorded it in NATS (cchc.runtime.backup_status). Neither
changes readiness: a new version still replaying is a normal state, and a failed backup is no
reason to take the API out of service.
"""

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from cchc.contracts.gateway_views import Health
from cchc.contracts.messages import CommandMeta, Principal, Problem, Request, Role
from cchc.gateway.deps import GatewayDep
from cchc.gateway.problems import MEDIA_TYPE, problem_responses
from nats.errors import Error as NatsError

from cchc.runtime import backup_status
from cchc.runtime.endpoints import ServiceUnavailable

router = APIRouter(tags=["operations"])
# The probe reads nothing, but a Request must name someone: the least privileged role.
_PROBE = Principal(sub="gateway-health", role=Role.INSPECTOR)


async def _service_health(gw: GatewayDep, service: str) -> tuple[bool, dict[str, Any] | None]:
    """Whether ``service`` is ready, and its projection versions as it reported them."""
    meta = CommandMeta(principal=_PROBE, correlation_id=str(uuid.uuid4()))
    try:
        reply = await gw.health_probe.call(service, "health", Request(meta=meta, body={}))
    except ServiceUnavailable:
        return False, None
    versions = reply.result.get("projection_versions") if isinstance(reply.result, dict) else None
    return reply.ok, versions


async def _backups(gw: GatewayDep) -> dict[str, Any] | None:
    """How the last scheduled backup went; None before any backup job reported."""
    try:
        status = await backup_status.read(gw.nc.jetstream())
    except (NatsError, TimeoutError):
        return None  # NATS is what the answer reports as down
    if status is None:
        return None
    every_s = status.get("every_s")
    healthy, why = backup_status.health_of(
        status, every_s if isinstance(every_s, int | float) else 86400.0, datetime.now(UTC))
    return {"healthy": healthy, "detail": why}


@router.get("/health", operation_id="health", response_model=Health, responses=problem_responses(503))
async def health(gw: GatewayDep) -> JSONResponse:
    services = gw.settings.services
    answers = await asyncio.gather(*(_service_health(gw, s) for s in services))
    states = [up for up, _ in answers]
    connected = gw.nc.is_connected
    report: dict[str, Any] = {
        "nats": "ok" if connected else "down",
        "services": {s: "ok" if up else "down" for s, up in zip(services, states, strict=True)},
        "projections": {s: versions for s, (_, versions) in zip(services, answers, strict=True)
                        if versions is not None},
    }
    backups = await _backups(gw) if connected else None
    if backups is not None:
        report["backups"] = backups
    if connected and all(states):
        return JSONResponse({"status": "ok", **report})
    down = [s for s, up in zip(services, states, strict=True) if not up]
    detail = "not connected to NATS" if not connected else f"not answering: {', '.join(down)}"
    # Extension members of the problem carry the same report a healthy answer would.
    body = Problem(title="Service unavailable", status=503, detail=detail).model_dump(mode="json")
    return JSONResponse({**body, **report}, status_code=503, media_type=MEDIA_TYPE,
                        headers={"Retry-After": "5"})
