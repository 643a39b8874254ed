"""The system under load: the dossier service and the gateway, on an existing NATS server and
read model, in a process of their own or in one each (the load generator is another).

    python bench/serve_worker.py ROLE NATS_URL DATABASE_URL PORT SECRET APPLIED_JSON

ROLE: ``all`` (the service and the gateway in one process and one event loop, as in the embedded
``cchc up``), ``service`` (the dossier service and its projections alone; it creates
APPLIED_JSON + ".ready" once its projections are at the head of the log) or ``gateway`` (the
gateway alone, as deployed: compose and Kubernetes run each in a container of its own).

The process that runs the service serves until SIGTERM, then writes APPLIED_JSON:
[[projection, position, wall-clock time], ...] for every batch each projection applied, to
measure command-to-projection latency against the load generator's acknowledgement times (same
machine, same clock).

With ``CCHC_BENCH_PROFILE=<file>`` set, SIGUSR1 starts a pyinstrument profile of the process's
event loop thread and SIGUSR2 writes it to that file as text (bench/run.py sends both around the
16-client receipts; with two processes, /tmp/p.txt becomes /tmp/p.service.txt and
/tmp/p.gateway.txt).
"""

import asyncio
import contextlib
import gc
import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import uvicorn
import uvloop

from cchc.dossier.config import DossierSettings
from cchc.dossier.main import DossierService
from cchc.gateway.app import create_app
from cchc.gateway.config import GatewaySettings
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.signing_keys import new_private_key_text

applied: list[tuple[str, int, float]] = []
_notify = ProjectionRunner._notify


async def _recording_notify(self: ProjectionRunner) -> None:
    applied.append((self.name, self.position, time.time()))
    await _notify(self)


ProjectionRunner._notify = _recording_notify  # type: ignore[method-assign]

steps: list[tuple[str, int, float]] = []  # projection, events, seconds of each applied batch
_apply_batch = ProjectionRunner._apply_batch


async def _timed_apply_batch(self: ProjectionRunner, items: list) -> None:  # type: ignore[type-arg]
    started = time.perf_counter()
    await _apply_batch(self, items)
    steps.append((self.name, len(items), time.perf_counter() - started))


ProjectionRunner._apply_batch = _timed_apply_batch  # type: ignore[method-assign]


gc_pauses: list[tuple[int, float, float]] = []  # generation, seconds, wall-clock end
_gc_started = [0.0]


def _time_gc(phase: str, info: dict) -> None:  # type: ignore[type-arg]
    if phase == "start":
        _gc_started[0] = time.perf_counter()
    else:
        gc_pauses.append((info["generation"], time.perf_counter() - _gc_started[0], time.time()))


gc.callbacks.append(_time_gc)


def _gc_summary() -> str:
    lines = []
    for generation in (0, 1, 2):
        times = sorted(t * 1000 for g, t, _ in gc_pauses if g == generation)
        if times:
            lines.append(f"gc generation {generation}: {len(times)} collections, "
                         f"{sum(times):.0f} ms in all, longest {times[-1]:.1f} ms")
    lines += [f"gc pause {t * 1000:.0f} ms (generation {g}) ending at {end:.2f}"
              for g, t, end in gc_pauses if t > 0.02]
    return "\n".join(lines)


def _batch_summary() -> str:
    """Batch sizes and apply times per projection (stderr, for looking closer)."""
    lines = []
    for name in sorted({name for name, _, _ in steps}):
        sizes = sorted(n for p, n, _ in steps if p == name)
        times = sorted(t * 1000 for p, _, t in steps if p == name)
        lines.append(f"{name}: {len(sizes)} batches, size p50 {sizes[len(sizes) // 2]} max "
                     f"{sizes[-1]}; apply p50 {times[len(times) // 2]:.1f} ms p99 "
                     f"{times[int(len(times) * 0.99)]:.1f} ms")
    return "\n".join(lines)


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # the worker handles SIGTERM itself
        yield


async def main(role: str, nats_url: str, database_url: str, port: int, secret: str,
               out: str) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stopping.set)
    if profile_file := os.environ.get("CCHC_BENCH_PROFILE"):
        if role != "all":  # /tmp/p.pstats -> /tmp/p.service.pstats
            stem, dot, suffix = profile_file.rpartition(".")
            profile_file = f"{stem}.{role}.{suffix}" if dot else f"{profile_file}.{role}"
        _profile_on_signals(loop, profile_file)
    service = await _start_service(nats_url, database_url) if role != "gateway" else None
    if role == "service":
        Path(out + ".ready").touch()
        await stopping.wait()
    else:
        app = create_app(GatewaySettings(nats_url=nats_url, jwt_secret=secret,
                                         services=["dossier"], port=port))
        server = _Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        loop.add_signal_handler(signal.SIGTERM, lambda: setattr(server, "should_exit", True))
        await server.serve()
    if service is not None:
        await service.stop()
        with open(out, "w") as file:
            json.dump(applied, file)
        print(_batch_summary(), file=sys.stderr)
    print(_gc_summary(), file=sys.stderr)


async def _start_service(nats_url: str, database_url: str) -> DossierService:
    # Signed as deployed: every appended event carries the service's Ed25519 signature.
    service = DossierService(DossierSettings(nats_url=nats_url, database_url=database_url,
                                             signing_key=new_private_key_text()))
    await service.start()
    # Load a service in its steady state: every projection at the head of the log. The rebuild
    # before this made the read model only; the alerts projection would otherwise replay the
    # whole log here, under the load, and its batches would be measured as the requests' cost.
    started = time.perf_counter()
    while not all([await runner.caught_up_with_head() for runner in service.runners]):
        await asyncio.sleep(1)
    print(f"projections at the head after {time.perf_counter() - started:.0f} s: " + ", ".join(
        f"{runner.name} {runner.position}" for runner in service.runners), file=sys.stderr)
    return service


def _profile_on_signals(loop: asyncio.AbstractEventLoop, out: str) -> None:
    if out.endswith(".pstats"):  # cProfile: exact calls and built-ins, at more overhead
        import cProfile

        cprofile = cProfile.Profile()

        def dump() -> None:
            cprofile.disable()
            cprofile.dump_stats(out)

        loop.add_signal_handler(signal.SIGUSR1, cprofile.enable)
        loop.add_signal_handler(signal.SIGUSR2, dump)
        return
    from pyinstrument import Profiler  # a tool of the benchmark only, installed by hand

    profiler = Profiler(interval=0.0005, async_mode="disabled")

    def write() -> None:
        profiler.stop()
        with open(out, "w") as file:
            file.write(profiler.output_text(unicode=True, show_all=False))
        profiler.last_session.save(out + ".pyisession")  # pyinstrument --load to look closer

    loop.add_signal_handler(signal.SIGUSR1, profiler.start)
    loop.add_signal_handler(signal.SIGUSR2, write)


if __name__ == "__main__":
    # Each role on the event loop its deployed process has: the gateway alone on the one
    # uvicorn.run chooses (cchc.gateway.app.main: uvloop, installed with the gateway), the
    # service alone on uvloop (cchc.runtime.service.main), both in one process on asyncio's, as
    # `cchc up` runs them.
    role = sys.argv[1]
    loop_factory = {"gateway": uvicorn.Config(None).get_loop_factory(),  # type: ignore[arg-type]
                    "service": uvloop.new_event_loop}.get(role)
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main(role, sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5],
                        sys.argv[6]))
