"""Upgrades without downtime: a new projection version replays beside the one that answers.

A projection's name carries its version (``dossier-read-v5``). When a service starts with a
version its database does not serve yet:

1. **Beside, not over.** The new version gets a namespace of its own (a PostgreSQL schema, or a
   SQLite file beside the main one: ``cchc.runtime.version_stores``) and replays the log from
   the first event into it, with its own checkpoint there, exactly once as any projection:
   a restart mid-replay resumes from that checkpoint. Meanwhile the service answers from the
   version that serves (its complete tables), and its health says which version serves and
   where the new one is.
2. **Switch at the head.** The replica that runs the new version (it holds its lease) marks it
   serving in the register (``cchc.runtime.projection_versions``) once it has applied every
   event of the log, checked against the stream's head at that moment; the version it replaces
   becomes retired. Every replica watches the register (every ``WATCH_S``) and switches its
   reads then: the engine and the runner to wait on change together, and a request reads one
   version from start to end (``cchc.runtime.read_side``). Switching only forward, to a
   version that had every event of the log when it switched, keeps read-your-writes: a
   position a write returned before the switch is already applied by the new version, and one
   returned after is waited for on the new version's runner.
   Versions only go forward: a version never takes over from a newer one, and a replica of
   the release before that (re)starts during the rollout answers from its own tables (until
   they are dropped) rather than replaying; to roll back, release the old code under a new
   version number.
3. **Drop after a grace period.** The retired version's tables (and its checkpoint and
   register row) are dropped by the new version's active runner once the version has been
   retired for ``retire_after_s`` (default ``RETIRE_AFTER_S``, 10 minutes), not before.
   Why a period and not a count of readers: replicas of this code switch within ``WATCH_S`` of
   the register saying so, but replicas of the previous release (which do not take part in any
   register) may still read the old tables until the rollout has replaced them. New replicas
   are ready while the new version replays (they answer from the old one), so a rolling update
   replaces every old replica long before the replay ends; the grace period must only exceed
   the time a replica takes to notice a switch and finish its requests in flight, and the
   rollout's termination grace.
4. **A version overtaken while it replays** (a release rolled back, or followed by the next,
   before its replay ended) can never serve: versions only go forward. The version that
   switches marks every older one still building ``abandoned``; its tables go after the same
   grace period as a retired version's. A replica of it that starts afterwards refuses to
   start (``Superseded``): it has no complete tables to answer from.

Adopting a database kept before versions had namespaces: its projections' rows lie in the
default namespace, with a checkpoint under their name. The newest version found there is
enrolled as serving in place, with no replay (the usual case: the code runs that same version);
a newer version replays beside it as above. The first version a database ever runs lives in
the default namespace too.

The old version keeps up with the log only while some replica still runs it. When none does (a
single process restarted with new code), the service answers from the old version as of its
last event until the switch; a read that asks for a newer position waits, bounded, as for any
projection behind (``cchc.runtime.reads``).
"""

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc.runtime import checkpoints, projection_versions
from cchc.runtime.leadership import lock_key
from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.projection_versions import (
    ABANDONED,
    BUILDING,
    LEGACY_NAMESPACE,
    RETIRED,
    SERVING,
    Version,
    family_of,
    version_of,
)
from cchc.runtime.read_side import ReadSide
from cchc.runtime.version_stores import (
    drop_namespace,
    keeps_namespaces,
    namespace_for,
    version_engine,
)
from cchc.runtime.waiting import cancel_and_wait, wait_at_most

log = logging.getLogger("cchc.projection")

WATCH_S = 0.5  # how often a replica looks whether its new version may, or did, switch
RETIRE_AFTER_S = 600.0
RETIRE_CHECK_S = 10.0  # how often the active runner looks for retired versions to drop
SWITCH_WAIT_S = 5.0  # at most, for the new version to apply what the old one has at the switch


class Superseded(RuntimeError):
    """This release's projection version was overtaken by a newer one before it served."""


@dataclass
class _ServedElsewhere:
    """The version that serves while this one replays: only its name and checkpoint matter
    here (its code may be another release's)."""

    name: str
    context: str
    metadata: MetaData = field(default_factory=MetaData)

    async def apply(self, conn: AsyncConnection, envelope: Any) -> None:
        raise RuntimeError(f"{self.name} is applied by the replicas that run it")


async def _lock_register(conn: AsyncConnection) -> None:
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                           {"key": lock_key("projection-versions")})


async def _register(conn: AsyncConnection) -> None:
    await _lock_register(conn)
    await conn.run_sync(checkpoints.metadata.create_all)
    await conn.run_sync(projection_versions.metadata.create_all)


class VersionedProjection:
    """One projection (its version of this release) and the switch from the version before."""

    def __init__(self, runner: ProjectionRunner, read_side: ReadSide,
                 retire_after_s: float = RETIRE_AFTER_S) -> None:
        self.current = runner
        self.base: AsyncEngine = runner.engine
        self.family = family_of(runner.name)
        self.read_side = read_side
        self.retire_after_s = retire_after_s
        self.namespace = LEGACY_NAMESPACE
        self.serving: ProjectionRunner = runner
        self.head = 0
        self._switched_at: float | None = None  # monotonic; until what it replaced is let go
        self._engines: dict[str, AsyncEngine] = {}  # namespace -> its engine (not the base)

    @property
    def name(self) -> str:
        return self.current.name

    @property
    def switched(self) -> bool:
        """Whether this release's version is the one that answers."""
        return self.serving is self.current

    async def setup(self) -> None:
        """Enrol this version, set up its tables where they belong, and serve what serves."""
        async with self.base.begin() as conn:
            await _register(conn)
            mine, serving = await self._enrol(conn)
        self.namespace = mine.namespace
        self.current.engine = await self._engine(mine.namespace)
        await self.current.setup()
        if serving is None or serving.name == self.name:
            self.serving = self.current
        else:
            self.serving = await self._reader_of(serving)
            log.info("projection %s: replaying beside %s, which answers meanwhile",
                     self.name, serving.name)
        self.read_side.serve(self.family, self._namespace_of(serving, mine), self.serving)

    async def _enrol(self, conn: AsyncConnection) -> tuple[Version, Version | None]:
        known = {v.name: v for v in await projection_versions.of_family(conn, self.family)}
        if not known:
            known = await self._adopt(conn)
        serving = next((v for v in known.values() if v.state == SERVING), None)
        mine = known.get(self.name)
        if mine is None:
            apart = serving is not None and keeps_namespaces(self.base)
            if serving is not None and not apart:
                # No room for a second namespace (in-memory SQLite): replaced in place.
                await projection_versions.forget(conn, serving.name)
                serving = None
            namespace = namespace_for(self.name) if apart else LEGACY_NAMESPACE
            mine = await projection_versions.enrol(
                conn, self.name, namespace, BUILDING if serving else SERVING)
        elif mine.state == BUILDING and serving is None:
            # Nothing else answers (it was dropped by hand): this one, as far as it got.
            await projection_versions.set_state(conn, self.name, SERVING)
            mine = Version(mine.name, mine.family, mine.namespace, SERVING, time.time())
        elif mine.state == RETIRED:
            # A replica of the release before, (re)started during the rollout: it answers from
            # its own tables, as its release did, until they are dropped; never over the newer
            # version (versions only go forward: roll back by releasing under a new number).
            log.warning("projection %s: retired for %s; answering from its tables until they "
                        "are dropped", self.name, serving.name if serving else "another")
            return mine, mine
        elif mine.state == ABANDONED:
            raise Superseded(
                f"projection {self.name} was overtaken by "
                f"{serving.name if serving else 'a newer version'} before its replay ended, "
                "and has no complete tables to answer from: this release is superseded "
                "(versions only go forward; to roll back, release under a new version number)")
        return mine, (mine if mine.state == SERVING else serving)

    async def _adopt(self, conn: AsyncConnection) -> dict[str, Version]:
        """A database kept by a release before the register: its newest version of this
        family, in the default namespace, serves."""
        legacy = await projection_versions.legacy_checkpoints(conn, self.family)
        if not legacy:
            return {}
        name = self.name if self.name in legacy else legacy[0]
        log.info("projection %s: adopting %s, kept in the default namespace", self.name, name)
        adopted = await projection_versions.enrol(conn, name, LEGACY_NAMESPACE, SERVING)
        return {name: adopted}

    def _namespace_of(self, serving: Version | None, mine: Version) -> str:
        return (serving or mine).namespace

    async def _engine(self, namespace: str) -> AsyncEngine:
        if namespace == LEGACY_NAMESPACE:
            return self.base
        if namespace not in self._engines:
            self._engines[namespace] = await version_engine(self.base, namespace)
        return self._engines[namespace]

    async def _reader_of(self, version: Version) -> ProjectionRunner:
        """A runner that only reads ``version``'s checkpoint (for read-your-writes waits)."""
        engine = await self._engine(version.namespace)
        elsewhere = _ServedElsewhere(version.name, self.current.projection.context)
        reader = ProjectionRunner(self.current.nc, engine, elsewhere,
                                  consumer_name=f"reader-{version.name}")
        await reader.read_position()
        return reader

    async def run(self, stop: asyncio.Event) -> None:
        """Run this version's runner; switch when it may, drop what it replaced when safe."""
        watcher = asyncio.create_task(self._watch(stop), name=f"versions {self.family}")
        try:
            await self.current.run(stop)
        finally:
            await cancel_and_wait(watcher)

    async def _watch(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.look()
            except Exception as error:  # noqa: BLE001 - the next look tries again
                log.warning("projection %s: version check failed (%s: %s)",
                            self.name, type(error).__name__, error)
            await wait_at_most(stop.wait(), self._next_look_in())

    def _next_look_in(self) -> float:
        """Often while a switch may come; seldom once only retired versions may wait to go."""
        if not self.switched:
            return WATCH_S
        return max(WATCH_S, min(RETIRE_CHECK_S, self.retire_after_s / 4))

    async def look(self) -> None:
        """One look at the register: switch, or retire what was replaced."""
        if not self.switched:
            await self.serving.read_position()
            await self._switch_if_ready()
        if self.switched and self._leading():
            await self._drop_retired()
        if (self._switched_at is not None
                and time.monotonic() - self._switched_at >= self.retire_after_s):
            await self._let_go_of_replaced()

    def _leading(self) -> bool:
        return self.current.lease is not None and self.current.lease.held

    async def _family(self) -> tuple[Version | None, Version | None]:
        """This version's row in the register, and the serving one's."""
        async with self.base.connect() as conn:
            family = await projection_versions.of_family(conn, self.family)
        mine = next((v for v in family if v.name == self.name), None)
        return mine, next((v for v in family if v.state == SERVING), None)

    async def _switch_if_ready(self) -> None:
        mine, serving = await self._family()
        if mine is None or mine.state != SERVING:
            if not self._leading() or mine is None or mine.state != BUILDING:
                return
            if serving is not None and version_of(serving.name) > version_of(self.name):
                return  # only forward
            self.head = await self.current.log_head()
            if not await self.current.caught_up_with_head():
                return
            async with self.base.begin() as conn:
                await _lock_register(conn)
                for version in await projection_versions.of_family(conn, self.family):
                    if version.state == SERVING:
                        await projection_versions.set_state(conn, version.name, RETIRED)
                    elif (version.state == BUILDING
                          and version_of(version.name) < version_of(self.name)):
                        await projection_versions.set_state(conn, version.name, ABANDONED)
                await projection_versions.set_state(conn, self.name, SERVING)
        replaced = self.serving.name
        # Reads never go back: what the old version showed last, the new one shows first.
        await self.current.wait_for(await self.serving.read_position(), SWITCH_WAIT_S)
        self.serving = self.current
        self._switched_at = time.monotonic()
        self.read_side.serve(self.family, self.namespace, self.current)
        log.info("projection %s: caught up at %d; serves reads instead of %s",
                 self.name, self.current.position, replaced)

    async def _drop_retired(self) -> None:
        async with self.base.connect() as conn:
            family = await projection_versions.of_family(conn, self.family)
        if not any(v.name == self.name and v.state == SERVING for v in family):
            return  # only the serving version drops what it replaced
        due = [v for v in family if v.name != self.name and v.state in (RETIRED, ABANDONED)
               and time.time() - v.since >= self.retire_after_s]
        for version in due:
            await self.read_side.release_superseded()
            engine = self._engines.pop(version.namespace, None)
            if engine is not None:
                await engine.dispose()
            if version.namespace != LEGACY_NAMESPACE:
                await drop_namespace(self.base, version.namespace)
            elif self.namespace != LEGACY_NAMESPACE:
                # An adopted version: its tables bear this version's table names.
                async with self.base.begin() as conn:
                    await conn.run_sync(self.current.projection.metadata.drop_all)
            async with self.base.begin() as conn:
                await _lock_register(conn)
                await projection_versions.forget(conn, version.name)
            log.info("projection %s: dropped %s (%s %.0f s ago)",
                     self.name, version.name, version.state, time.time() - version.since)

    async def _let_go_of_replaced(self) -> None:
        """Close this replica's connections to the version it replaced (no request can hold
        one after the grace period): it is about to be dropped, by this replica or another."""
        self._switched_at = None
        await self.read_side.release_superseded()
        for namespace in [ns for ns in self._engines if ns != self.namespace]:
            await self._engines.pop(namespace).dispose()

    def status(self) -> dict[str, Any]:
        """What health reports: the version that serves, and the one that replays, if any."""
        building = None if self.switched else {
            "name": self.current.name, "position": self.current.position, "head": self.head}
        return {"serving": self.serving.name, "position": self.serving.position,
                "building": building}

    async def close(self) -> None:
        await self.current.close()
        for engine in self._engines.values():
            await engine.dispose()
        self._engines.clear()


async def engine_of_version(base: AsyncEngine, name: str) -> AsyncEngine:
    """The engine of the namespace where ``name`` lives (the default one if not enrolled)."""
    async with base.begin() as conn:
        await _register(conn)
        known = [v for v in await projection_versions.of_family(conn, family_of(name))
                 if v.name == name]
    return await version_engine(base, known[0].namespace if known else LEGACY_NAMESPACE)
