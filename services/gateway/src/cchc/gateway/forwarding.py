"""Commands and queries forwarded to a service over NATS request/reply, and its reply answered.

A reply that is ok becomes the JSON body (with ``ETag`` and ``X-Event-Position`` when the service
gave a version and a position); a problem keeps its status as ``application/problem+json``. A
command with an Idempotency-Key is answered from its record when one exists.
"""

from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from cchc.contracts.messages import CommandMeta, Problem, Reply, Request
from cchc.gateway.deps import CommandCall, Gateway, QueryCall
from cchc.gateway.idempotency import (
    REPLAYED_HEADERS,
    IdempotencyUnavailable,
    StoredAnswer,
    record_key,
    request_hash,
)
from cchc.gateway.problems import ProblemException, from_service, problem, problem_response
from cchc.runtime.endpoints import ServiceUnavailable

RETRY_AFTER_S = "2"
REPLAYED = "Idempotent-Replayed"


async def _call(gw: Gateway, service: str, endpoint: str, request: Request) -> Reply:
    try:
        return await gw.services.call(service, endpoint, request)
    except ServiceUnavailable:
        raise problem(503, f"the {service} service did not answer; try again",
                      headers={"Retry-After": RETRY_AFTER_S}) from None


def _answer(reply: Reply, success_status: int, location: str | None) -> StoredAnswer:
    """The HTTP answer to a reply (its request hash is filled in by the caller)."""
    if not reply.ok:
        problem_value = from_service(reply.problem)
        return StoredAnswer(request_hash="", status=problem_value.status, headers={},
                            body=problem_value.model_dump(mode="json"))
    headers: dict[str, str] = {}
    if reply.version is not None:
        headers["ETag"] = f'"{reply.version}"'
    if reply.position is not None:
        headers["X-Event-Position"] = str(reply.position)
    if location and reply.result and "id" in reply.result:
        headers["Location"] = f"{location}/{reply.result['id']}"
    return StoredAnswer(request_hash="", status=success_status, headers=headers, body=reply.result)


def _response(answer: StoredAnswer, extra_headers: dict[str, str] | None = None) -> JSONResponse:
    headers = {k: v for k, v in answer.headers.items() if k in REPLAYED_HEADERS}
    headers.update(extra_headers or {})
    if answer.status == 503:  # the service said unavailable (its log had no leader, say)
        headers.setdefault("Retry-After", RETRY_AFTER_S)
    if answer.status >= 400:
        return problem_response(Problem.model_validate(answer.body), headers)
    return JSONResponse(answer.body, status_code=answer.status, headers=headers)


def _idempotency_conflict() -> Exception:
    return problem(409, "this Idempotency-Key was already used with another body",
                   field="Idempotency-Key", title="Idempotency-Key reused")


def _store_unavailable() -> Exception:
    return problem(503, "idempotency records are unavailable; try again",
                   headers={"Retry-After": RETRY_AFTER_S})


async def send_command(
    gw: Gateway, call: CommandCall, service: str, endpoint: str, body: BaseModel, *,
    target: str | None = None, success_status: int = 200, location: str | None = None,
) -> JSONResponse:
    payload: dict[str, Any] = body.model_dump(mode="json")
    fingerprint = request_hash(payload)
    key = None
    if call.idempotency_key is not None:
        key = record_key(call.caller, call.method, call.path, call.idempotency_key)
        try:
            earlier = await gw.idempotency.get(key)
        except IdempotencyUnavailable:
            raise _store_unavailable() from None
        if earlier is not None:
            if earlier.request_hash != fingerprint:
                raise _idempotency_conflict()
            return _response(earlier, {REPLAYED: "true"})
    meta = CommandMeta(
        principal=call.caller, correlation_id=call.correlation_id, idempotency_key=key,
        expected_version=call.expected_version,
    )
    reply = await _call(gw, service, endpoint, Request(meta=meta, body=payload, target=target))
    answer = _answer(reply, success_status, location).model_copy(
        update={"request_hash": fingerprint}
    )
    # 5xx answers are not kept: the retry the client is expected to make must reach the service.
    if key is None or answer.status >= 500:
        return _response(answer)
    try:
        stored = await gw.idempotency.put_first(key, answer)
    except IdempotencyUnavailable:
        return _response(answer)  # written once already; only a later replay is lost
    if stored.request_hash != fingerprint:
        # A concurrent twin with another body got in first; the service de-duplicated ours.
        raise _idempotency_conflict()
    return _response(stored, {REPLAYED: "true"} if stored is not answer else None)


async def ask_query(
    gw: Gateway, call: QueryCall, service: str, endpoint: str, body: dict[str, Any] | None = None,
    *, target: str | None = None,
) -> JSONResponse:
    meta = CommandMeta(principal=call.caller, correlation_id=call.correlation_id)
    request = Request(meta=meta, body=body or {}, target=target,
                      min_position=call.position_in(service))
    reply = await _call(gw, service, endpoint, request)
    return _response(_answer(reply, 200, location=None))


async def ask_result(
    gw: Gateway, call: QueryCall, service: str, endpoint: str, body: dict[str, Any] | None = None,
    target: str | None = None, min_position: int | None = None,
) -> dict[str, Any]:
    """One service's answer as data (for the gateway's own assembly: a report, a PDF), or its
    problem raised as the request's own."""
    meta = CommandMeta(principal=call.caller, correlation_id=call.correlation_id)
    request = Request(meta=meta, body=body or {}, target=target, min_position=min_position)
    try:
        reply = await gw.services.call(service, endpoint, request)
    except ServiceUnavailable:
        raise problem(503, f"the {service} service did not answer; try again",
                      headers={"Retry-After": "2"}) from None
    if not reply.ok or reply.result is None:
        raise ProblemException(from_service(reply.problem))
    return reply.result
