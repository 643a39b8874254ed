"""Deliver the alerts of a day: each agency with any alert gets its digest on every channel.

A channel that fails is logged and reported in the answer; the others still deliver. What
failed for a passing reason (``channels.worth_retrying``) is named in ``Sent.to_retry``, for
the morning run to send again later (``alerts.schedule``); a request gets its answer at once.
"""

import asyncio
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cchc.contracts.dossier_commands import SERVICE
from cchc.gateway.agency_names import agency_names
from cchc.gateway.alerts.channels import post_webhook, send_email, worth_retrying
from cchc.gateway.alerts.digest import digest_payload
from cchc.gateway.alerts.live import LiveAlerts
from cchc.gateway.deps import Gateway, QueryCall
from cchc.gateway.forwarding import ask_result
from cchc.gateway.outbound_http import outbound_client

log = logging.getLogger("cchc.gateway.alerts")

CHANNELS = ("email", "webhook")
Failed = tuple[str, str]  # (agency, channel)


@dataclass
class Sent:
    answer: dict[str, Any]
    to_retry: set[Failed] = field(default_factory=set)  # failed for a passing reason


async def alerts_of(gw: Gateway, call: QueryCall, day: date, agency: str | None) -> dict[str, Any]:
    return await ask_result(gw, call, SERVICE, "alerts",
                            {"agency": agency, "day": day.isoformat()},
                            min_position=call.position_in(SERVICE))


async def deliver(gw: Gateway, live: LiveAlerts, call: QueryCall, day: date,
                  agency: str | None, working_days_only: bool = False) -> dict[str, Any]:
    """Every digest of ``day`` the caller may read (one agency's, or all) on every channel;
    nothing on a day off when ``working_days_only`` (the morning run)."""
    return (await send_digests(gw, live, call, day, agency, working_days_only)).answer


async def send_digests(gw: Gateway, live: LiveAlerts, call: QueryCall, day: date,
                       agency: str | None, working_days_only: bool = False,
                       again: Collection[Failed] | None = None) -> Sent:
    """As ``deliver``; with ``again``, only those (agency, channel) pairs are sent, with the
    day's digest as it is now, and nothing goes to the live streams (they had it)."""
    alerts = await alerts_of(gw, call, day, agency)
    if working_days_only and not alerts["working_day"]:
        return Sent({"day": alerts["day"], "working_day": False, "count": alerts["count"],
                     "delivered": []})
    names = await agency_names(gw, call)
    sent = Sent({"day": alerts["day"], "working_day": alerts["working_day"],
                 "count": alerts["count"], "delivered": []})
    due = []
    for entry in alerts["agencies"]:
        code = entry["agency"]
        channels = [c for c in CHANNELS if again is None or (code, c) in again]
        if entry["count"] == 0 or not channels:
            continue
        payload = digest_payload(alerts, entry, names.get(code, code))
        # Every replica's streams at once: each send waits a moment for the replicas' answers.
        streams = asyncio.create_task(live.send(payload)) if again is None else None
        due.append((code, entry["count"], payload, channels, streams))
    async with outbound_client() as client:
        for code, count, payload, channels, streams in due:
            outcome: dict[str, Any] = {"agency": code, "count": count, "streams": 0}
            for channel in channels:
                try:
                    if channel == "email":
                        done = await send_email(gw.settings, payload)
                    else:
                        done = await post_webhook(gw.settings, client, payload)
                    outcome[channel] = "sent" if done else "not configured"
                except Exception as error:  # one channel's failure must not stop the others
                    log.warning("alert %s for %s failed: %s", channel, code, error)
                    outcome[channel] = f"failed: {error}"
                    if worth_retrying(error):
                        sent.to_retry.add((code, channel))
            if streams is not None:
                outcome["streams"] = await streams
            sent.answer["delivered"].append(outcome)
    return sent
