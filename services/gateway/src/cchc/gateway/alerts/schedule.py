"""The working morning's run: at the configured time (Asia/Ho_Chi_Minh), on a working day per
the dossier service's calendar, every agency's digest is delivered.

Runs in each gateway process where ``alerts_schedule`` is on. The morning is a job that one
replica holds at a time (``alerts.morning_job``): the first to create its record delivers, the
others wait, and should the holder stop before the job is done, one of them takes it over when
its lease runs out and finishes it. A digest is sent once, or twice to some agencies when a
delivery cut short is taken over (at least once).

An email or webhook that failed for a passing reason (the server down or slow, HTTP 5xx, SMTP
4xx) is sent again after each of ``alerts_retry_delays_s`` in turn (1, 5 and 15 minutes by
default) until it goes: that channel only, for that agency only, with the day's digest as it is
then. A refusal that would come again (HTTP 4xx, SMTP 5xx) is logged and not repeated. The
retries are part of the job: the replica that holds it sends them, whichever that is by then.
"""

import asyncio
import logging
import time as _time
import uuid
from datetime import UTC, date, datetime, time, timedelta

from cchc.contracts.localtime import LOCAL_TZ, local_date
from cchc.contracts.messages import Principal, Role
from cchc.gateway.alerts.delivery import Failed, send_digests
from cchc.gateway.alerts.live import LiveAlerts
from cchc.gateway.alerts.morning_job import Held, hold, next_step
from cchc.gateway.deps import Gateway, QueryCall

log = logging.getLogger("cchc.gateway.alerts")

# The morning run reads every agency's alerts as the gateway itself (it writes nothing).
SCHEDULE_PRINCIPAL = Principal(sub="cchc-gateway-alerts", role=Role.INSPECTOR)
RETRY_S = 60.0  # a step that could not reach the dossier service or the bucket: again this later
POLL_S = 30.0  # a replica waiting on another's job looks at its record this often


def next_run_after(now: datetime, at: time) -> datetime:
    """The first moment after ``now`` at local time ``at`` (today's, else tomorrow's)."""
    local = now.astimezone(LOCAL_TZ)
    candidate = datetime.combine(local.date(), at, LOCAL_TZ)
    return candidate if candidate > local else datetime.combine(
        local.date() + timedelta(days=1), at, LOCAL_TZ)


async def run_every_working_morning(gw: Gateway, live: LiveAlerts, at: time) -> None:
    """Forever (until cancelled): sleep until the next ``at``, then see the morning's job done."""
    while True:
        run_at = next_run_after(datetime.now(LOCAL_TZ), at)
        await asyncio.sleep(max(0.0, (run_at - datetime.now(LOCAL_TZ)).total_seconds()))
        await finish_morning(gw, live, run_at.date())


async def finish_morning(gw: Gateway, live: LiveAlerts, day: date, poll_s: float = POLL_S,
                         ) -> None:
    """Return once ``day``'s job is done, by this replica or another; working on it whenever
    it is free. A job that still fails when its day is over is left (the next morning's waits)."""
    while True:
        try:
            held = await hold(gw, day, poll_s)
            if held is None:
                return
            await work_on(held, live)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # the dossier service or JetStream restarting: again soon
            if local_date(datetime.now(UTC)) > day:
                log.error("morning alerts of %s: failed (%s) and the day is over; left", day,
                          error)
                return
            log.warning("morning alerts of %s failed: %s; again in %.0f s", day, error, RETRY_S)
            await asyncio.sleep(RETRY_S)


async def work_on(held: Held, live: LiveAlerts) -> None:
    """Take the job this replica holds from step to step until it is done (or taken over)."""
    gw = held.gw
    while (job := held.job).step != "done":
        if job.step == "again":
            log.info("morning alerts of %s: %s again", job.day,
                     ", ".join(f"{channel} for {agency}" for agency, channel in job.again))
            await asyncio.sleep(max(0.0, job.next_at - _time.time()))
        call = QueryCall(caller=SCHEDULE_PRINCIPAL, correlation_id=str(uuid.uuid4()),
                         min_position=None)
        again: set[Failed] | None = set(job.again) if job.step == "again" else None
        async with held.renewed():
            sent = await send_digests(gw, live, call, job.day, None, working_days_only=True,
                                      again=again)
        log.info("morning alerts of %s%s: %s", job.day, ", again" if again else "",
                 sent.answer["delivered"])
        if not await held.store(next_step(job, sent.to_retry, gw.settings.alerts_retry_delays_s,
                                          _time.time())):
            return
