"""The process every service is: NATS, its streams, its projections, its endpoints, in order.

A service says what it is (its name, the streams it needs, its projection runners and its
endpoints); starting and stopping are the same for all of them:

- start: connect the broker (reconnecting for ever), make sure the streams exist, create the
  engine, set up every projection (a new version beside the one that serves:
  ``cchc.runtime.projection_upgrade``), start the endpoints (FastStream subscribers), which read
  through the read side (the serving version of each projection), then run the projections;
- stop: stop answering (FastStream lets answers in flight go out), let each projection finish
  its batch (at most ``STOP_GRACE_S``), then close NATS and the engine.

The event store and the projections use the broker's own NATS connection: one connection per
process, with the process's credentials.
"""

import asyncio
import logging
import signal
import sys
from abc import ABC, abstractmethod
from typing import Any

import uvloop
from faststream.nats import NatsBroker, NatsRouter
from nats.aio.client import Client as NATS
from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.contracts.messages import NoBody, Reply, Request
from cchc.contracts.subjects import instance_subject, this_instance
from cchc.runtime import nats_watchdog
from cchc.runtime.heap import settle_heap
from cchc.runtime.endpoints import (
    ServiceRouter,
    connect_broker,
    inbox_prefix,
    service_broker,
    stop_broker,
)
from cchc.runtime.observability import configure_logging, configure_tracing, start_metrics_server
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.projection_upgrade import VersionedProjection
from cchc.runtime.read_side import ReadSide, ServingRunner
from cchc.runtime.service_settings import ServiceSettingsBase
from cchc.runtime.signing_keys import SigningKey, load_signing_key
from cchc.runtime.sqldb import create_engine
from cchc.runtime.streams import ensure_event_stream
from cchc.runtime.waiting import cancel_and_wait, wait_at_most

log = logging.getLogger("cchc.service")

STOP_GRACE_S = 5.0


class HealthAnswer(BaseModel):
    model_config = ConfigDict(extra="allow")  # each service adds the positions it keeps

    service: str
    projection_position: int = 0
    # per projection family: the version that serves, and the one replaying beside it, if any
    projection_versions: dict[str, Any] = {}


class ServiceProcess(ABC):
    """One running instance of a service."""

    name: str  # the service's endpoint prefix and connection name
    contexts: tuple[str, ...]  # the streams it reads or writes (created when missing)

    def __init__(self, settings: ServiceSettingsBase) -> None:
        self.settings = settings
        self.nc: NATS | None = None
        self.broker: NatsBroker | None = None
        self.engine: AsyncEngine | None = None
        self.read_side: ReadSide | None = None
        self.versions: list[VersionedProjection] = []
        # The serving version of each projection, in the order projection_runners gives them.
        self.runners: list[ServingRunner] = []
        # The key this service signs its events with (settings signing_key / signing_key_file).
        self.signer: SigningKey | None = load_signing_key(
            self.name, settings.signing_key, settings.signing_key_file)
        self.ready = False
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    @abstractmethod
    def projection_runners(self, nc: NATS, engine: AsyncEngine) -> list[ProjectionRunner]:
        """The runners this service keeps going; the first is its read model."""

    @abstractmethod
    def endpoints(self, nc: NATS, engine: AsyncEngine) -> ServiceRouter:
        """Its endpoints (``self.health`` among them); ``engine`` reads the serving versions."""

    def connect_options(self) -> dict[str, Any]:
        """Extra nats-py connect options for this process: its own inbox prefix, so that the
        server can let each connection read only its own replies (deploy/nats/accounts.conf)."""
        return {"inbox_prefix": inbox_prefix(self.name)}

    def health_positions(self) -> dict[str, int]:
        """What the health endpoint reports of the projections."""
        return {"projection_position": self.runners[0].position if self.runners else 0}

    async def start(self) -> None:
        self.broker = service_broker(
            self.settings.nats_url, f"cchc-{self.name}", log_messages=self.settings.log_messages,
            ca_file=self.settings.nats_tls_ca, **self.connect_options(),
        )
        self.nc = await connect_broker(self.broker)
        js = self.nc.jetstream()
        for context in self.contexts:
            await ensure_event_stream(js, context, self.settings.stream_replicas)
        self.engine = create_engine(self.settings.database_url)
        self.read_side = ReadSide(self.engine)
        retire_after = self.settings.projection_retire_after_s
        self.versions = [VersionedProjection(runner, self.read_side, retire_after)
                         for runner in self.projection_runners(self.nc, self.engine)]
        for version in self.versions:
            await version.setup()
        self.runners = [self.read_side.runner(version.family) for version in self.versions]
        reads: Any = self.read_side.engine  # an AsyncEngine to the queries
        self.broker.include_router(self.endpoints(self.nc, reads).router)
        self.broker.include_router(self._instance_health())
        await self.broker.start()
        await self.nc.flush()  # the server has the subscriptions: ready means reachable
        for version in self.versions:
            self._tasks.append(asyncio.create_task(version.run(self._stop), name=version.name))
        self.ready = True
        settle_heap()  # full collections skip what starting built (cchc.runtime.heap)
        if self.signer is None:
            log.warning("%s: no signing key (signing_key / signing_key_file): its events are "
                        "appended unsigned", self.name)
        log.info("%s service ready (%s)", self.name, ", ".join(
            f"{runner.name} at {runner.position}" for runner in self.runners))

    def _instance_health(self) -> NatsRouter:
        """``health`` once more on this instance's own subject, outside the queue group: its
        container probe asks there, so the answer is this replica's (deploy/README.md,
        "Probes")."""
        router = NatsRouter()
        router.subscriber(instance_subject(self.name, "health", this_instance()),
                          title=f"{self.name}.health.<instance>")(self.health)
        return router

    def version_status(self) -> dict[str, Any]:
        return {version.family: version.status() for version in self.versions}

    async def health(self, request: Request[NoBody]) -> Reply[HealthAnswer]:
        """Whether this instance is ready, and where its read model is in the log."""
        return Reply(ok=self.ready, result=HealthAnswer(
            service=self.name, projection_versions=self.version_status(),
            **self.health_positions()))

    async def stop(self) -> None:
        self.ready = False
        self._stop.set()
        if self.broker is not None:
            # First leave the queue groups, handing on what was delivered already (a request
            # the server routed here must be answered here: in a rolling update the replicas
            # that stay would otherwise see their callers time out); then stop the
            # subscribers, waiting for the answers in flight. The connection stays open for
            # the projections' last batch.
            await asyncio.gather(*(_drain(subscriber) for subscriber in self.broker.subscribers),
                                 return_exceptions=True)
            await asyncio.gather(*(subscriber.stop() for subscriber in self.broker.subscribers),
                                 return_exceptions=True)
        if self._tasks:
            _, running = await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
            await cancel_and_wait(*running)
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for version in self.versions:
            await version.close()
        if self.read_side is not None:
            await self.read_side.close()
        if self.broker is not None:
            await stop_broker(self.broker, self.nc)  # what was published goes out
        if self.engine is not None:
            await self.engine.dispose()


async def _drain(subscriber: Any) -> None:
    """Leave the subscription's queue group and wait until what it received is answered.

    FastStream's stop cancels the requests still in its queue (``max_workers``) and in hand;
    here they are answered first, within ``STOP_GRACE_S``.
    """
    subscription = getattr(subscriber, "subscription", None)
    if subscription is None:
        return
    subscriber.subscription = None  # drained: stop() has nothing left to unsubscribe
    deadline = asyncio.get_running_loop().time() + STOP_GRACE_S
    async with asyncio.timeout(STOP_GRACE_S):  # not wait_for: cchc.runtime.waiting
        await subscription.drain()
    queue = getattr(subscriber, "receive_stream", None)
    limiter = getattr(subscriber, "limiter", None)
    while asyncio.get_running_loop().time() < deadline:
        queued = queue.statistics().current_buffer_used if queue is not None else 0
        busy = limiter is not None and limiter.value < subscriber.max_workers
        if not queued and not busy:
            return
        await asyncio.sleep(0.01)


async def run_until_signalled(service: ServiceProcess) -> int:
    """Run ``service`` until SIGINT or SIGTERM, then stop it in order; the process's exit code.

    Should its NATS connection stop making round trips (``cchc.runtime.nats_watchdog``), it
    stops as well and exits 1, for its supervisor to start a fresh process."""
    await service.start()
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopped.set)
    assert service.nc is not None
    signalled = asyncio.create_task(stopped.wait())
    watchdog = asyncio.create_task(nats_watchdog.watch(service.nc))
    await asyncio.wait({signalled, watchdog}, return_when=asyncio.FIRST_COMPLETED)
    lost = watchdog.done()
    await cancel_and_wait(signalled, watchdog)
    if lost:
        log.critical("%s: its NATS connection made no round trip for %.0f s; stopping, to be "
                     "started afresh", service.name, watchdog.result())
    if not await wait_at_most(service.stop(), STOP_GRACE_S + 10 if lost else None):
        log.error("%s: did not stop within %.0f s", service.name, STOP_GRACE_S + 10)
    return 1 if lost else 0


def main(service: ServiceProcess, argv: list[str] | None = None) -> None:
    """The service's process; with the argument ``rebuild``, its read models rebuilt from the
    log instead (``cchc.runtime.rebuild``), its replicas stopped."""
    argv = sys.argv[1:] if argv is None else argv
    configure_logging()
    if argv == ["rebuild"]:
        from cchc.runtime import rebuild

        sys.exit(rebuild.run(service))
    if argv:
        sys.exit(f"usage: {service.name} [rebuild]; not {' '.join(argv)!r}")
    configure_tracing(f"cchc-{service.name}")
    start_metrics_server(service.settings.metrics_port)
    # uvloop: in bench/run.py's deployed topology the dossier service spent ~10 % less CPU per
    # receipt on it than on asyncio's loop (README, "Benchmarks"). The embedded `cchc up` keeps
    # asyncio's loop: there the gateway, the services and the projections share one loop.
    sys.exit(uvloop.run(run_until_signalled(service)))
