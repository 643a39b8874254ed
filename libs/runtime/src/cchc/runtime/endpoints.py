"""The services' endpoints on FastStream: one subscriber per endpoint, answers for every error.

A service declares its endpoints on a ``ServiceRouter``: each is a ``NatsBroker`` subscriber on
``svc.<service>.<endpoint>`` in the service's queue group, typed by its request model
(``Request[ReceiveDossier]``) and answering its reply model. A handler that raises still answers:
``problem_middleware`` turns a domain error into a problem of its kind, a request that does not
fit its model into an ``invalid`` problem naming the fields, anything else into ``internal``
(logged). FastStream's default would send no reply and leave the caller to time out.

The gateway calls them through ``ServiceClient``, which is FastStream's request on a broker.
"""

import logging
from collections.abc import Callable, Sequence
from typing import Any

from faststream import BaseMiddleware, ExceptionMiddleware
from faststream.nats import NatsBroker, NatsRouter
from faststream.nats.opentelemetry import NatsTelemetryMiddleware
from faststream.nats.prometheus import NatsPrometheusMiddleware
from faststream.nats.security import NatsSecurity, NatsToken, NatsUserPassword
from nats.aio.client import Client as NATS
from nats.errors import (
    ConnectionClosedError,
    ConnectionReconnectingError,
    NoRespondersError,
)
from nats.errors import TimeoutError as NatsTimeout
from prometheus_client import REGISTRY
from pydantic import ValidationError

from cchc.contracts.messages import FieldError, ProblemKind, Reply, Request, ServiceProblem
from cchc.contracts.subjects import service_subject
from cchc.runtime.domain_errors import DomainError, Unavailable
from cchc.runtime.nats_credentials import servers_and_credentials
from cchc.runtime.nats_tls import client_context
from cchc.runtime.nats_failures import PASSING_NATS_FAILURES
from cchc.runtime.nats_pongs import skip_abandoned_pongs
from cchc.runtime.nats_transport import bound_transport_close
from cchc.runtime.observability import correlation_scope, tracer_provider, tracing_enabled
from cchc.runtime.read_pins import pinned_reads

log = logging.getLogger("cchc.endpoints")

# Requests one endpoint handles at once in one process (see the services' max_workers setting).
DEFAULT_MAX_WORKERS = 2


def inbox_prefix(user: str) -> str:
    """The inbox prefix of a connection of ``user``: nobody else may subscribe under it."""
    return f"_INBOX_{user}"


class ServiceUnavailable(Exception):
    """No instance of the service answered in time."""


def invalid_request(error: ValidationError) -> ServiceProblem:
    """The fields of a request that do not fit its model, named as the client wrote them."""
    errors = []
    for detail in error.errors():
        location = [str(part) for part in detail["loc"]]
        if location[:1] == ["request"]:  # the handler's parameter, as FastStream names it
            location = location[1:]
        if location[:1] == ["body"]:  # the request's body is what the client sent
            location = location[1:]
        errors.append(FieldError(field=".".join(location) or "body", message=detail["msg"]))
    return ServiceProblem(
        kind=ProblemKind.INVALID, title="Invalid input",
        detail="; ".join(f"{e.field}: {e.message}" for e in errors), errors=errors,
    )


def problem_middleware() -> ExceptionMiddleware:
    """Every error a handler raises becomes a problem reply (published, so the caller hears)."""
    middleware = ExceptionMiddleware()

    @middleware.add_handler(DomainError, publish=True)
    async def refused(error: DomainError) -> Reply[Any]:
        return Reply.refused(error.problem())

    @middleware.add_handler(ValidationError, publish=True)
    async def invalid(error: ValidationError) -> Reply[Any]:
        return Reply.refused(invalid_request(error))

    async def unavailable(error: Exception) -> Reply[Any]:
        # A NATS request that timed out or found no responders (a stream's leader moving):
        # try again, not an internal error. The store and the receipt book say so themselves
        # (cchc.runtime.nats_failures); this catches what they do not wrap.
        log.warning("handler failed for now: %s: %s", type(error).__name__, error)
        return Reply.refused(Unavailable(f"a dependency did not answer ({type(error).__name__}); "
                                         "try again").problem())

    for passing in PASSING_NATS_FAILURES:
        middleware.add_handler(passing, publish=True)(unavailable)

    @middleware.add_handler(Exception, publish=True)
    async def failed(error: Exception) -> Reply[Any]:
        log.error("handler failed: %s: %s", type(error).__name__, error, exc_info=error)
        return Reply.refused(ServiceProblem(kind=ProblemKind.INTERNAL, title="Internal error"))

    return middleware


class CorrelationMiddleware(BaseMiddleware):  # type: ignore[type-arg]
    """Every log line a handler writes carries its request's correlation id (the caller sends
    it as the message's correlation id: ``ServiceClient.call``)."""

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        with correlation_scope(msg.correlation_id):
            return await call_next(msg)


class ReadPinMiddleware(BaseMiddleware):  # type: ignore[type-arg]
    """A request reads one version of each read model, even across a version switch
    (``cchc.runtime.read_pins``)."""

    async def consume_scope(self, call_next: Any, msg: Any) -> Any:
        with pinned_reads():
            return await call_next(msg)


def _traced() -> list[Any]:
    """The trace middleware when tracing is on: a span per message costs every request, even
    unexported, so it is absent otherwise."""
    return [NatsTelemetryMiddleware(tracer_provider=tracer_provider())] if tracing_enabled() else []


# A NATS node that dies or is cut off sends no FIN: the connection to it is found dead only by
# unanswered pings. nats-py's default (every 120 s, 2 outstanding) left the gateway and the
# services stuck on a killed node for minutes (tests/containers, faults under load); at 5 s and
# 3 outstanding they reconnect to another node within ~15 s.
PING_INTERVAL_S = 5
MAX_OUTSTANDING_PINGS = 3


def resilient_options() -> dict[str, Any]:
    """nats-py's options for a process's long-lived connection, with its fixes applied: a
    reconnect never waits on a dead node's TLS close (``nats_transport``), a flush that timed
    out never ends the read loop (``nats_pongs``), and a silent node is found in seconds."""
    bound_transport_close()
    skip_abandoned_pongs()
    return {"ping_interval": PING_INTERVAL_S, "max_outstanding_pings": MAX_OUTSTANDING_PINGS,
            "max_reconnect_attempts": -1, "reconnect_time_wait": 1}


def _broker(url: str | Sequence[str], name: str, middlewares: list[Any], log_messages: bool,
            ca_file: str | None = None, **connect: Any) -> NatsBroker:
    # The URL's credentials as options: nats-py gives them to every node it connects to, the
    # ones it learns from the cluster included (cchc.runtime.nats_credentials). The CA, when
    # named, is trusted alone (cchc.runtime.nats_tls).
    found = servers_and_credentials(url)
    tls = client_context(ca_file) if ca_file else None
    security = (NatsUserPassword(found["user"], found["password"], ssl_context=tls)
                if "user" in found
                else NatsToken(found["token"], ssl_context=tls) if "token" in found
                else NatsSecurity(ssl_context=tls) if tls is not None else None)
    return NatsBroker(
        found["servers"], name=name, middlewares=middlewares, security=security,
        logger=log if log_messages else None, graceful_timeout=5.0,
        **{**resilient_options(), **connect},
    )


async def connect_broker(broker: NatsBroker) -> NATS:
    """Connect ``broker``: a wrong user or password still fails here at once, but once
    connected, the connection's errors are logged, never raised.

    FastStream (0.7.8) wraps the error callback it gives nats-py so that it raises the errors it
    calls unrecoverable ("Authorization Violation", "stale connection", ...), to fail a first
    connect fast. nats-py also awaits that callback inside its reconnect loop, in the handler of
    the very error it is retrying: raised there, the loop dies and the client stays CONNECTING
    for good. A node coming back may answer one such error (the compose cluster's fault drill,
    2026-12-07); nats-py's own retry is the right answer to it. Replaces nats-py's private
    ``_error_cb``; libs/runtime/tests/test_broker_reconnect.py fails if that name goes."""
    nc = await broker.connect()
    name = nc.options.get("name") or "process"

    async def log_error(error: Exception) -> None:
        log.warning("%s: NATS: %s: %s", name, type(error).__name__, error)

    nc._error_cb = log_error
    return nc


async def stop_broker(broker: NatsBroker, nc: NATS | None) -> None:
    """Stop ``broker``, draining its connection ``nc`` so that what was published goes out. A
    connection that is reconnecting (its node gone: what it holds cannot go out, and nats-py
    refuses to drain it) is closed as it is, and a close that fails on the lost transport still
    counts as closed: a process stopping because its connection was lost
    (``cchc.runtime.nats_watchdog``) ends cleanly instead of failing its shutdown."""
    try:
        await broker.stop()
    except (ConnectionReconnectingError, ConnectionClosedError) as error:
        if nc is None:
            raise
        await _close_lost(nc, error)


async def close_connection(nc: NATS) -> None:
    """``stop_broker`` for a connection of nats-py's own: drained, or closed as it is if lost."""
    try:
        await nc.drain()
    except (ConnectionReconnectingError, ConnectionClosedError) as error:
        await _close_lost(nc, error)


async def _close_lost(nc: NATS, error: Exception) -> None:
    name = nc.options.get("name") or "process"
    log.warning("%s: NATS connection %s; closed without draining", name, type(error).__name__)
    try:
        await nc.close()
    except OSError as lost:  # what nats-py flushes on closing meets the lost transport
        log.warning("%s: NATS connection closed; what it still held is lost (%s: %s)",
                    name, type(lost).__name__, lost)


def service_broker(
    url: str | Sequence[str], name: str, *, middlewares: Sequence[Any] = (),
    log_messages: bool = False, ca_file: str | None = None, **connect: Any,
) -> NatsBroker:
    """A broker for a process that serves endpoints: reconnecting for ever, answering problems,
    quiet by default, traced when tracing is on (the trace context travels in the NATS headers,
    a span per request on each side) and counted (FastStream's Prometheus metrics: messages
    handled and their durations)."""
    observed = [*_traced(), NatsPrometheusMiddleware(registry=REGISTRY, app_name=name),
                CorrelationMiddleware, ReadPinMiddleware]
    return _broker(url, name, [*observed, *middlewares, problem_middleware()], log_messages,
                   ca_file, **connect)


def client_broker(
    url: str | Sequence[str], name: str, *, log_messages: bool = False,
    ca_file: str | None = None, **connect: Any,
) -> NatsBroker:
    """A broker for a process that only calls endpoints (the gateway): traced when tracing is
    on, nothing else on the path of each request. Its requests are counted where they are
    handled (the services' metrics) and where they arrive (the gateway's HTTP metrics)."""
    return _broker(url, name, _traced(), log_messages, ca_file, **connect)


class ServiceRouter:
    """The endpoints of one service: ``svc.<service>.<name>`` in the queue group ``<service>``."""

    def __init__(self, service: str, max_workers: int = DEFAULT_MAX_WORKERS) -> None:
        self.service = service
        self.max_workers = max_workers
        self.router = NatsRouter()
        self.names: list[str] = []

    def endpoint(
        self, name: str, handler: Callable[..., Any], *, max_workers: int | None = None,
        description: str | None = None,
    ) -> None:
        subscriber = self.router.subscriber(
            service_subject(self.service, name), queue=self.service,
            max_workers=max_workers or self.max_workers,
            title=f"{self.service}.{name}", description=description or handler.__doc__,
        )
        subscriber(handler)
        self.names.append(name)

    @classmethod
    def of(
        cls, service: str, handlers: dict[str, Callable[..., Any]],
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> "ServiceRouter":
        """A router with one endpoint per entry of ``handlers`` (endpoint name -> handler)."""
        router = cls(service, max_workers)
        for name, handler in handlers.items():
            router.endpoint(name, handler)
        return router


class ServiceClient:
    """Requests to the services' endpoints, over a connected broker."""

    def __init__(self, broker: NatsBroker, timeout: float = 10.0) -> None:
        self._broker = broker
        self._timeout = timeout

    async def call(self, service: str, endpoint: str, request: Request[Any]) -> Reply[Any]:
        try:
            message = await self._broker.request(
                request, service_subject(service, endpoint), timeout=self._timeout,
                correlation_id=request.meta.correlation_id,
            )
        except (NoRespondersError, NatsTimeout, TimeoutError) as error:
            raise ServiceUnavailable(f"{service} did not answer {endpoint}") from error
        return Reply.model_validate_json(message.body)
