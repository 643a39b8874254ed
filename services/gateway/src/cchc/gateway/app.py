"""The gateway application: ``create_app(settings)``, and ``main()`` to serve it alone."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import nats
from fastapi import FastAPI

from cchc.gateway import problems
from cchc.gateway.config import GatewaySettings
from cchc.gateway.deps import Gateway
from cchc.gateway.idempotency import IdempotencyStore, open_bucket
from cchc.gateway.routers import dossiers, health, log, reference
from cchc.runtime.eventstore import EventStore
from cchc.runtime.rpc import ServiceClient


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nc = await nats.connect(settings.nats_url, max_reconnect_attempts=-1, name="cchc-gateway")
        bucket = await open_bucket(nc.jetstream(), settings.idempotency_ttl_s)
        app.state.gateway = Gateway(
            settings=settings, nc=nc,
            services=ServiceClient(nc, timeout=settings.request_timeout_s),
            events=EventStore(nc), idempotency=IdempotencyStore(bucket),
        )
        try:
            yield
        finally:
            await nc.drain()

    app = FastAPI(
        title="CCHC Ledger API", version="1.0.0", lifespan=lifespan,
        description="Theo dõi cải cách hành chính: hồ sơ TTHC, kế hoạch CCHC, chỉ số.",
    )
    problems.install(app)
    for module in (reference, dossiers, log, health):
        app.include_router(module.router)
    return app


def main() -> None:
    import uvicorn

    logging.basicConfig(level=logging.INFO)
    settings = GatewaySettings()  # type: ignore[call-arg]
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port)


if __name__ == "__main__":
    main()
