"""A working morning's delivery as a job that any gateway replica can finish.

Its record, one per day in the shared IDEMPOTENCY bucket, says which replica works on it and until
when (its lease), and what is left: every digest (``deliver``), some channels to send again
(``again``, with the delays still to wait), or nothing (``done``). The replica that creates the
record delivers; one that finds the lease run out takes the job over with a compare-and-set on
the record's revision (one winner) and goes on from where the record says. So a replica stopped
at the morning's hour, by a rolling update say, no longer takes that morning's digests, nor their
retries, with it. The holder renews its lease while it works: a slow delivery (every SMTP server
timing out) is not taken for a dead one.

At least once: a replica that takes over a delivery cut short sends it whole, so an agency may
get that morning's email, webhook or live event twice.
"""

import asyncio
import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date
from typing import Literal

from pydantic import BaseModel, ValidationError

from cchc.gateway.deps import Gateway
from cchc.gateway.idempotency import StoredAnswer
from cchc.runtime.waiting import cancel_and_wait

log = logging.getLogger("cchc.gateway.alerts")

REPLICA = str(uuid.uuid4())  # this process, in the records it writes
LEASE_S = 300.0  # a holder silent this long is taken for stopped
Step = Literal["deliver", "again", "done"]


class MorningJob(BaseModel):
    day: date
    by: str  # the replica working on it
    lease_until: float  # Unix time; after it, another replica may take the job over
    step: Step
    again: list[tuple[str, str]] = []  # (agency, channel) to send again
    next_at: float = 0.0  # when to send them again (Unix time)
    delays: list[float] = []  # the waits left after that, one per further try


def job_key(day: date) -> str:
    return hashlib.sha256(f"alerts-morning\x1f{day.isoformat()}".encode()).hexdigest()


def job_record(job: MorningJob) -> StoredAnswer:
    # The bucket's own record shape; the replica in request_hash, as in the records before jobs.
    return StoredAnswer(request_hash=job.by, status=200, headers={},
                        body={"alerts_morning": job.day.isoformat(), **job.model_dump(mode="json")})


def _job(day: date, record: StoredAnswer) -> MorningJob:
    try:
        return MorningJob.model_validate(record.body)
    except ValidationError:
        # A claim by a release before jobs: that replica delivered the morning (or lost it).
        return MorningJob(day=day, by=record.request_hash, lease_until=0.0, step="done")


class Held:
    """A job this replica holds: its record's revision follows each write, and ``store`` writes
    the next step only while the record is still this replica's."""

    def __init__(self, gw: Gateway, job: MorningJob, revision: int) -> None:
        self.gw, self.job, self.revision = gw, job, revision
        self._writing = asyncio.Lock()  # the renewal and the next step: one write at a time

    async def store(self, job: MorningJob) -> bool:
        """Write ``job`` (its lease from now at least); False if another replica took the job
        over."""
        job = job.model_copy(update={"by": REPLICA,
                                     "lease_until": max(job.lease_until, time.time() + LEASE_S)})
        async with self._writing:
            revision = await self.gw.idempotency.replace(job_key(job.day), job_record(job),
                                                         self.revision)
            if revision is None:
                log.warning("morning alerts of %s: taken over by another replica", job.day)
                return False
            self.job, self.revision = job, revision
        return True

    @contextlib.asynccontextmanager
    async def renewed(self) -> AsyncIterator[None]:
        """Renew the lease every third of it while the block runs. Should another replica have
        taken the job over meanwhile (this one was silent too long), the renewals stop and the
        block runs to its end; its next ``store`` then says so."""

        async def renew() -> None:
            while True:
                await asyncio.sleep(LEASE_S / 3)
                with contextlib.suppress(Exception):  # JetStream away a moment: next time
                    if not await self.store(self.job.model_copy(update={"lease_until": 0.0})):
                        return

        renewing = asyncio.create_task(renew())
        try:
            yield
        finally:
            await cancel_and_wait(renewing)


async def hold(gw: Gateway, day: date, poll_s: float) -> Held | None:
    """The day's job, held by this replica once it is free: created, or taken over from a
    replica whose lease ran out. None once the job is done (by this replica or another)."""
    key = job_key(day)
    while True:
        record, revision = await gw.idempotency.get_revision(key)
        now = time.time()
        if record is None:
            job = MorningJob(day=day, by=REPLICA, lease_until=now + LEASE_S, step="deliver")
        else:
            job = _job(day, record)
            if job.step == "done":
                return None
            if job.by != REPLICA and now < job.lease_until:
                await asyncio.sleep(min(poll_s, job.lease_until - now))
                continue
            if job.by != REPLICA:
                log.warning("morning alerts of %s: taking over from replica %s (%s left)", day,
                            job.by, job.step)
            job = job.model_copy(update={"by": REPLICA, "lease_until": now + LEASE_S})
        stored = await gw.idempotency.replace(key, job_record(job), revision)
        if stored is not None:
            return Held(gw, job, stored)


def next_step(job: MorningJob, failed: set[tuple[str, str]], delays: list[float],
              now: float) -> MorningJob:
    """What is left after a step that left ``failed`` to send again: a first delivery waits the
    first of ``delays`` (the setting), a retry the next of the job's own; none left, done."""
    waits = delays if job.step == "deliver" else job.delays
    if not failed or not waits:
        if failed:
            log.error("morning alerts of %s: gave up on %s", job.day,
                      ", ".join(f"{channel} for {agency}" for agency, channel in sorted(failed)))
        return job.model_copy(update={"step": "done", "again": [], "delays": []})
    next_at = now + waits[0]
    return job.model_copy(update={"step": "again", "again": sorted(failed), "next_at": next_at,
                                  "delays": list(waits[1:]), "lease_until": next_at + LEASE_S})
