"""The gateway application: ``create_app(settings)``, and ``main()`` to serve it alone."""

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from nats.aio.client import Client as NATS

from cchc.gateway import problems
from cchc.gateway.alerts.live import LiveAlerts
from cchc.gateway.alerts.schedule import run_every_working_morning
from cchc.gateway.authenticator import Authenticator  # issue 13: tokens, revocation, OIDC
from cchc.gateway.body_limit import BodyLimitMiddleware
from cchc.gateway.config import GatewaySettings
from cchc.gateway.deps import Gateway
from cchc.gateway.idempotency import IdempotencyStore, open_bucket
from cchc.gateway.public_rate import PublicRateLimit
from cchc.gateway.telemetry import TelemetryMiddleware
from cchc.gateway.routers import (
    admin,
    alerts,
    asyncapi,
    audit,
    dashboard,
    dossier_stats,
    dossiers,
    events,
    health,
    imports,
    indexes,
    me,
    metrics,
    planning,
    public,
    reference,
    reports,
)
from cchc.runtime.eventstore import EventStore
from cchc.runtime.observability import (
    configure_logging,
    configure_tracing,
    start_metrics_server,
)
from cchc.runtime import nats_watchdog
from cchc.runtime.heap import settle_heap
from cchc.runtime.waiting import cancel_and_wait
from cchc.runtime.endpoints import (
    ServiceClient,
    client_broker,
    connect_broker,
    inbox_prefix,
    stop_broker,
)

log = logging.getLogger("cchc.gateway")

# On SIGTERM, requests in flight get this long to finish; then what is still open (a live event
# stream runs for minutes: its EventSource reconnects to another replica) is cancelled.
SHUTDOWN_GRACE_S = 5

DESCRIPTION = """\
CCHC Ledger: administrative-procedure dossiers, reform plans and indexes of a province
(theo dõi cải cách hành chính). Errors are RFC 9457 problem details; commands accept
`Idempotency-Key` and `If-Match`; reads accept `X-Min-Position` to read their own writes.
"""


def create_app(settings: GatewaySettings, watch_nats: bool = False) -> FastAPI:
    """The gateway. ``watch_nats`` (its own process, as deployed): should its NATS connection
    stop making round trips (``cchc.runtime.nats_watchdog``), the process stops, for its
    supervisor to start a fresh one (``app.state.nats_lost`` says why)."""

    async def give_up_on_a_lost_connection(nc: NATS) -> None:
        silent = await nats_watchdog.watch(nc)
        log.critical("gateway: its NATS connection made no round trip for %.0f s; stopping, to "
                     "be started afresh", silent)
        app.state.nats_lost = True
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's graceful shutdown

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        broker = client_broker(settings.nats_url, "cchc-gateway", ca_file=settings.nats_tls_ca,
                               inbox_prefix=inbox_prefix("gateway"))
        nc = await connect_broker(broker)
        authenticator = None  # issue 13: token checks (exp, revocation, agency, OIDC)
        try:
            bucket = await open_bucket(nc.jetstream(), settings.idempotency_ttl_s,
                                 settings.stream_replicas)
            services = ServiceClient(broker, timeout=settings.request_timeout)
            authenticator = await Authenticator.start(nc, settings, services)
            app.state.gateway = Gateway(
                settings=settings, nc=nc, services=services,
                health_probe=ServiceClient(broker, timeout=settings.health_timeout),
                events=EventStore(nc), idempotency=IdempotencyStore(bucket),
                authenticator=authenticator,  # issue 13
                public_rate=PublicRateLimit(settings.public_rate_limit),
            )
            log.info("gateway connected to NATS at %s; services %s",
                     nats_watchdog.node_address(nc), settings.services)
            await app.state.live_alerts.follow(nc)  # every replica's streams get each digest
            settle_heap()  # full collections skip what starting built (cchc.runtime.heap)
            morning = (asyncio.create_task(run_every_working_morning(
                app.state.gateway, app.state.live_alerts, settings.alerts_time))
                if settings.alerts_schedule else None)  # issue 16
            watchdog = (asyncio.create_task(give_up_on_a_lost_connection(nc))
                        if watch_nats else None)
            try:
                yield
            finally:
                await cancel_and_wait(*(task for task in (morning, watchdog) if task is not None))
        finally:
            await app.state.live_alerts.unfollow()
            if authenticator is not None:  # issue 13: stop watching revocations
                await authenticator.close()
            # Drain lets in-flight requests get their replies before the connection closes.
            await stop_broker(broker, nc)

    app = FastAPI(
        title="CCHC Ledger API", version="1.0.0", description=DESCRIPTION, lifespan=lifespan,
        openapi_url="/openapi.json", docs_url="/docs", redoc_url=None,
    )
    app.state.live_alerts = LiveAlerts()  # issue 16: alert digests to the open event streams
    problems.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes,
                       import_max_bytes=settings.max_import_bytes)
    app.add_middleware(TelemetryMiddleware)  # outermost: times and counts the 413s too
    for module in (reference, dossiers, dossier_stats, planning, indexes, reports, events, audit, me,
                   health, dashboard, asyncapi, admin, public, imports,
                   alerts):  # admin: issue 13; alerts: issue 16
        app.include_router(module.router)
    if not settings.metrics_port:
        app.include_router(metrics.router)
    return app


def main() -> None:
    import uvicorn

    configure_logging()
    configure_tracing("cchc-gateway")
    settings = GatewaySettings()  # type: ignore[call-arg] # jwt_secret comes from the env
    start_metrics_server(settings.metrics_port)
    app = create_app(settings, watch_nats=True)
    uvicorn.run(app, host=settings.host, port=settings.port,
                timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
    if getattr(app.state, "nats_lost", False):
        sys.exit(1)


if __name__ == "__main__":
    main()
