"""The working morning's run: at the configured time (Asia/Ho_Chi_Minh), on a working day per
the dossier service's calendar, every agency's digest is delivered.

Runs in each gateway process where ``alerts_schedule`` is on; with several replicas, the first to
claim the day in the shared IDEMPOTENCY key-value bucket (``kv.create``: one winner) delivers,
the others skip it, so a digest is sent once. A replica that claims and then dies before it
delivers loses that morning's digest (the alerts stay readable, and can be delivered on request).

An email or webhook that failed for a passing reason (the server down or slow, HTTP 5xx, SMTP
4xx) is sent again after each of ``alerts_retry_delays_s`` in turn (1, 5 and 15 minutes by
default) until it goes: that channel only, for that agency only, with the day's digest as it is
then. A refusal that would come again (HTTP 4xx, SMTP 5xx) is logged and not repeated. The
retries live in the replica that claimed the morning: should it stop meanwhile, they stop too.
"""

import asyncio
import hashlib
import logging
import uuid
from datetime import date, datetime, time, timedelta

from cchc.contracts.localtime import LOCAL_TZ
from cchc.contracts.messages import Principal, Role
from cchc.gateway.alerts.delivery import Failed, Sent, send_digests
from cchc.gateway.alerts.live import LiveAlerts
from cchc.gateway.deps import Gateway, QueryCall
from cchc.gateway.idempotency import StoredAnswer

log = logging.getLogger("cchc.gateway.alerts")

# The morning run reads every agency's alerts as the gateway itself (it writes nothing).
SCHEDULE_PRINCIPAL = Principal(sub="cchc-gateway-alerts", role=Role.INSPECTOR)
RETRY_S = 60.0  # a run that could not reach the dossier service is tried again this much later
REPLICA = str(uuid.uuid4())  # this process, in its claims of a morning


async def claim_morning(gw: Gateway, day: date) -> bool:
    """True for the one replica that delivers ``day``'s morning digest."""
    key = hashlib.sha256(f"alerts-morning\x1f{day.isoformat()}".encode()).hexdigest()
    mine = StoredAnswer(request_hash=REPLICA, status=200, headers={},
                        body={"alerts_morning": day.isoformat()})
    stored = await gw.idempotency.put_first(key, mine)
    return stored.request_hash == REPLICA


def next_run_after(now: datetime, at: time) -> datetime:
    """The first moment after ``now`` at local time ``at`` (today's, else tomorrow's)."""
    local = now.astimezone(LOCAL_TZ)
    candidate = datetime.combine(local.date(), at, LOCAL_TZ)
    return candidate if candidate > local else datetime.combine(
        local.date() + timedelta(days=1), at, LOCAL_TZ)


async def run_every_working_morning(gw: Gateway, live: LiveAlerts, at: time) -> None:
    """Forever (until cancelled): sleep until the next ``at``, then deliver on a working day."""
    while True:
        run_at = next_run_after(datetime.now(LOCAL_TZ), at)
        await asyncio.sleep(max(0.0, (run_at - datetime.now(LOCAL_TZ)).total_seconds()))
        sent: Sent | None = None
        while True:
            call = QueryCall(caller=SCHEDULE_PRINCIPAL, correlation_id=str(uuid.uuid4()),
                             min_position=None)
            try:
                if not await claim_morning(gw, run_at.date()):
                    log.info("morning alerts of %s: delivered by another replica", run_at.date())
                    break
                sent = await send_digests(gw, live, call, run_at.date(), None,
                                          working_days_only=True)
                log.info("morning alerts of %s: %s", run_at.date(), sent.answer)
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the dossier service may be restarting: try again
                log.warning("morning alerts of %s failed: %s; again in %.0f s", run_at.date(),
                            error, RETRY_S)
                await asyncio.sleep(RETRY_S)
        if sent is not None and sent.to_retry:
            await send_again(gw, live, run_at.date(), sent.to_retry,
                             gw.settings.alerts_retry_delays_s)


async def send_again(gw: Gateway, live: LiveAlerts, day: date, failed: set[Failed],
                     delays: list[float]) -> set[Failed]:
    """The (agency, channel) pairs of the morning's digest that failed for a passing reason,
    sent again after each delay in turn, until none is left; returns what never went."""
    for delay in delays:
        if not failed:
            break
        log.info("morning alerts of %s: %s again in %.0f s", day,
                 ", ".join(f"{channel} for {agency}" for agency, channel in sorted(failed)), delay)
        await asyncio.sleep(delay)
        call = QueryCall(caller=SCHEDULE_PRINCIPAL, correlation_id=str(uuid.uuid4()),
                         min_position=None)
        try:
            sent = await send_digests(gw, live, call, day, None, working_days_only=True,
                                      again=failed)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # noqa: BLE001 - the dossier service restarting: next delay
            log.warning("morning alerts of %s: sending again failed: %s", day, error)
            continue
        log.info("morning alerts of %s, again: %s", day, sent.answer["delivered"])
        failed = sent.to_retry
    if failed:
        log.error("morning alerts of %s: gave up on %s", day,
                  ", ".join(f"{channel} for {agency}" for agency, channel in sorted(failed)))
    return failed
