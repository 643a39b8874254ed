"""What a service's queries read through: for each projection family, the version that serves.

The queries keep the shape they had (an engine, a runner to wait on for read-your-writes); what
they are handed are stand-ins that lead to the serving version of the moment:

- ``ServingEngine``: connections of the reading engine, whose connections see each family's
  serving namespace (``cchc.runtime.version_stores.reading_engine``);
- ``ServingRunner``: the runner of a family's serving version (``position``, ``wait_for``...).

A switch replaces the whole view (engine and runners) in one assignment, and a request pins the
view it first sees (``cchc.runtime.read_pins``): it reads one version from start to end, and
waits for its position on the runner of the version it reads (or, if a switch overtakes the
wait before it read anything, of the version switched to).
"""

import time
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from cchc.runtime.projection import ProjectionRunner
from cchc.runtime.read_pins import mark_read, pinned, repin
from cchc.runtime.version_stores import reading_engine

SWITCH_LOOK_S = 0.25  # how often a read-your-writes wait looks whether a switch overtook it


@dataclass(frozen=True)
class ReadView:
    engine: AsyncEngine
    runners: dict[str, ProjectionRunner] = field(default_factory=dict)


class ReadSide:
    def __init__(self, base: AsyncEngine) -> None:
        self.base = base
        self._view = ReadView(base)
        self._namespaces: dict[str, str] = {}  # family -> namespace of its serving version
        self._superseded: list[AsyncEngine] = []
        self.engine = ServingEngine(self)

    def view(self) -> ReadView:
        return pinned(self, self._view)

    def reading(self) -> ReadView:
        """The view a request reads from: it keeps it to the end."""
        mark_read(self)
        return self.view()

    def follow_switch(self) -> ReadView:
        """The current view, if the request may still move to it (it has read nothing)."""
        return repin(self, self._view)

    def runner(self, family: str) -> "ServingRunner":
        return ServingRunner(self, family)

    def serve(self, family: str, namespace: str, runner: ProjectionRunner) -> None:
        """From now on, ``family`` is read from ``runner``'s version in ``namespace``."""
        namespaces = {**self._namespaces, family: namespace}
        runners = {**self._view.runners, family: runner}
        engine = self._view.engine
        if namespaces != self._namespaces:
            # The families that serve from a namespace of their own come first (the default
            # one is searched last, where older versions may still lie).
            ordered = [namespaces[f] for f in runners]
            engine = reading_engine(self.base, ordered)
            if self._view.engine is not self.base:
                # Requests in flight may still use it: disposed when nobody can any more.
                self._superseded.append(self._view.engine)
        self._namespaces = namespaces
        self._view = ReadView(engine, runners)

    async def release_superseded(self) -> None:
        """Close the reading engines of earlier views (called once no request can hold one)."""
        superseded, self._superseded = self._superseded, []
        for engine in superseded:
            await engine.dispose()

    async def close(self) -> None:
        await self.release_superseded()
        if self._view.engine is not self.base:
            await self._view.engine.dispose()


class ServingEngine:
    """An ``AsyncEngine`` stand-in: each use goes to the reading engine of the pinned view."""

    def __init__(self, side: ReadSide) -> None:
        self._side = side

    def connect(self) -> Any:
        return self._side.reading().engine.connect()

    def begin(self) -> Any:
        return self._side.reading().engine.begin()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._side.view().engine, name)


class ServingRunner:
    """A ``ProjectionRunner`` stand-in: the runner of the family's version in the pinned view."""

    def __init__(self, side: ReadSide, family: str) -> None:
        self._side = side
        self.family = family

    @property
    def serving(self) -> ProjectionRunner:
        return self._side.view().runners[self.family]

    async def wait_for(self, position: int, timeout: float) -> bool:
        """Wait until the serving version has applied ``position``; when a switch comes
        meanwhile, wait on the version switched to (see ``read_pins.repin``)."""
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            view = self._side.view()
            if await view.runners[self.family].wait_for(position, min(remaining, SWITCH_LOOK_S)):
                return True
            self._side.follow_switch()
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.serving, name)
