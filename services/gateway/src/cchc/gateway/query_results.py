"""A service's answer to a query as a plain dict (for routes that compose or render it), its
problem raised as the route's own."""

from typing import Any

from cchc.contracts.messages import CommandMeta, Request
from cchc.gateway.deps import Gateway, QueryCall
from cchc.gateway.problems import ProblemException, from_service, problem
from cchc.runtime.endpoints import ServiceUnavailable


async def query_result(
    gw: Gateway, call: QueryCall, service: str, endpoint: str, body: dict[str, Any] | None = None,
) -> dict[str, Any]:
    meta = CommandMeta(principal=call.caller, correlation_id=call.correlation_id)
    request = Request(meta=meta, body=body or {}, min_position=call.position_in(service))
    try:
        reply = await gw.services.call(service, endpoint, request)
    except ServiceUnavailable:
        raise problem(503, f"the {service} service did not answer; try again",
                      headers={"Retry-After": "2"}) from None
    if not reply.ok or reply.result is None:
        raise ProblemException(from_service(reply.problem))
    return reply.result
