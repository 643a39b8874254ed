"""One active runner per projection across replicas that share its database.

Replicas of a service all run the projection runner, but only the holder of the projection's
lease applies events; the others stand by and take over when the holder's database session
ends (crash, network loss). On PostgreSQL the lease is a session-level advisory lock; SQLite is
the embedded default of a single process, where the lease is always granted.
"""

import asyncio
import hashlib
import logging

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from cchc.runtime.waiting import wait_at_most

log = logging.getLogger("cchc.projection")


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock from a projection's name."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class ProjectionLease:
    def __init__(self, engine: AsyncEngine, name: str, retry_s: float = 1.0) -> None:
        self.engine = engine
        self.name = name
        self.retry_s = retry_s
        self._conn: AsyncConnection | None = None
        self.held = False

    @property
    def shared(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    async def acquire(self, stop: asyncio.Event) -> bool:
        """Wait until this replica holds the lease (True) or ``stop`` is set (False)."""
        if not self.shared:
            self.held = True
            return True
        announced = False
        while not stop.is_set():
            if await self._try():
                log.info("projection %s: this replica is now the active runner", self.name)
                self.held = True
                return True
            if not announced:
                log.info("projection %s: another replica is active; standing by", self.name)
                announced = True
            await wait_at_most(stop.wait(), self.retry_s)
        return False

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it (True), without waiting; False while a replica
        does (or the database cannot be reached)."""
        self.held = not self.shared or await self._try()
        return self.held

    async def still_held(self) -> bool:
        """False once the session that holds the lock is gone (then the lock is gone too)."""
        if not self.shared:
            return True
        try:
            assert self._conn is not None
            await self._conn.execute(text("SELECT 1"))
            await self._conn.commit()
        except Exception:  # noqa: BLE001 - any failure of the session ends the lease
            await self.release()
            return False
        return True

    async def release(self) -> None:
        self.held = False
        if self._conn is not None:
            try:
                await self._conn.close()
            except Exception:  # noqa: BLE001 - already broken: closing it is all we wanted
                pass
            self._conn = None

    async def _try(self) -> bool:
        try:
            if self._conn is None:
                self._conn = await self.engine.connect()
            got = await self._conn.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key(self.name)}
            )
            await self._conn.commit()  # the lock is the session's, not the transaction's
        except Exception as error:  # noqa: BLE001 - database unreachable: try again later
            log.warning("projection %s: cannot take the lease yet (%s)", self.name, error)
            await self.release()
            return False
        return bool(got)
