"""Commands and queries to the services: headers in (Idempotency-Key, If-Match, X-Min-Position),
a ``Request`` over NATS, the ``Reply`` out as JSON or a problem (ETag, X-Event-Position)."""

import re
import uuid
from typing import Any

from fastapi import Request as HttpRequest
from fastapi.responses import JSONResponse

from cchc.contracts.messages import CommandMeta, Principal, Problem, Reply, Request
from cchc.gateway.deps import Gateway
from cchc.gateway.idempotency import StoredAnswer, record_key, request_hash
from cchc.gateway.problems import problem, problem_response
from cchc.runtime.rpc import ServiceUnavailable

_ETAG = re.compile(r'^\s*(?:W/)?"(\d+)"\s*$')


def expected_version(http: HttpRequest) -> int | None:
    value = http.headers.get("if-match")
    if value is None:
        return None
    match = _ETAG.match(value)
    if not match:
        raise problem(400, "Bad request", 'If-Match must be a version like "3"', field="If-Match")
    return int(match.group(1))


def min_position(http: HttpRequest) -> int | None:
    value = http.headers.get("x-min-position")
    if value is None:
        return None
    if not value.strip().isdigit():
        raise problem(400, "Bad request", "X-Min-Position must be a log position",
                      field="X-Min-Position")
    return int(value)


async def _call(gateway: Gateway, service: str, endpoint: str, request: Request) -> Reply:
    try:
        return await gateway.services.call(service, endpoint, request)
    except ServiceUnavailable:
        raise problem(503, "Service unavailable", f"the {service} service did not answer",
                      headers={"Retry-After": "1"}) from None


def _answer(reply: Reply, created: bool, location: str | None) -> tuple[int, dict[str, str], Any]:
    if not reply.ok:
        assert reply.problem is not None
        return reply.problem.status, {}, reply.problem.model_dump(mode="json")
    headers: dict[str, str] = {}
    if reply.version is not None:
        headers["ETag"] = f'"{reply.version}"'
    if reply.position is not None:
        headers["X-Event-Position"] = str(reply.position)
    if created and location and reply.result and "id" in reply.result:
        headers["Location"] = f"{location}/{reply.result['id']}"
    return (201 if created else 200), headers, reply.result


def _response(status: int, headers: dict[str, str], body: Any) -> JSONResponse:
    if status >= 400:
        return problem_response(Problem.model_validate(body), headers)
    return JSONResponse(body, status_code=status, headers=headers)


async def command(
    gateway: Gateway, http: HttpRequest, caller: Principal, service: str, endpoint: str,
    body: dict[str, Any], target: str | None = None, created: bool = False,
    location: str | None = None,
) -> JSONResponse:
    client_key = http.headers.get("idempotency-key")
    key = record_key(caller.sub, http.method, http.url.path, client_key) if client_key else None
    fingerprint = request_hash(body)
    if key:
        earlier = await gateway.idempotency.get(key)
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise problem(409, "Conflict", "this Idempotency-Key was used with another body",
                              field="Idempotency-Key")
            return _response(earlier.status, earlier.headers, earlier.body)
    meta = CommandMeta(
        principal=caller, correlation_id=http.headers.get("x-correlation-id") or str(uuid.uuid4()),
        idempotency_key=key, expected_version=expected_version(http),
    )
    reply = await _call(gateway, service, endpoint, Request(meta=meta, body=body, target=target))
    status, headers, answer = _answer(reply, created, location)
    if key and status < 500:
        stored = await gateway.idempotency.put_first(
            key, StoredAnswer(request_hash=fingerprint, status=status, headers=headers, body=answer)
        )
        status, headers, answer = stored.status, stored.headers, stored.body
    return _response(status, headers, answer)


async def query(
    gateway: Gateway, http: HttpRequest, caller: Principal, service: str, endpoint: str,
    body: dict[str, Any] | None = None, target: str | None = None,
) -> JSONResponse:
    meta = CommandMeta(principal=caller, correlation_id=str(uuid.uuid4()))
    request = Request(meta=meta, body=body or {}, target=target, min_position=min_position(http))
    reply = await _call(gateway, service, endpoint, request)
    status, _, answer = _answer(reply, created=False, location=None)
    return _response(status, {}, answer)
