"""Deliver the alerts of a day: each agency with any alert gets its digest on every channel.

A channel that fails is logged and reported in the answer; the others still deliver.
"""

import logging
from datetime import date
from typing import Any

import httpx

from cchc.contracts.dossier_commands import SERVICE
from cchc.gateway.agency_names import agency_names
from cchc.gateway.alerts.channels import post_webhook, send_email
from cchc.gateway.alerts.digest import digest_payload
from cchc.gateway.alerts.live import LiveAlerts
from cchc.gateway.deps import Gateway, QueryCall
from cchc.gateway.forwarding import ask_result

log = logging.getLogger("cchc.gateway.alerts")


async def alerts_of(gw: Gateway, call: QueryCall, day: date, agency: str | None) -> dict[str, Any]:
    return await ask_result(gw, call, SERVICE, "alerts",
                            {"agency": agency, "day": day.isoformat()},
                            min_position=call.position_in(SERVICE))


async def deliver(gw: Gateway, live: LiveAlerts, call: QueryCall, day: date,
                  agency: str | None, working_days_only: bool = False) -> dict[str, Any]:
    """Every digest of ``day`` the caller may read (one agency's, or all) on every channel;
    nothing on a day off when ``working_days_only`` (the morning run)."""
    alerts = await alerts_of(gw, call, day, agency)
    if working_days_only and not alerts["working_day"]:
        return {"day": alerts["day"], "working_day": False, "count": alerts["count"],
                "delivered": []}
    names = await agency_names(gw, call)
    delivered: list[dict[str, Any]] = []
    async with httpx.AsyncClient() as client:
        for entry in alerts["agencies"]:
            if entry["count"] == 0:
                continue
            payload = digest_payload(alerts, entry, names.get(entry["agency"], entry["agency"]))
            outcome: dict[str, Any] = {"agency": entry["agency"], "count": entry["count"],
                                       "streams": live.publish(payload)}
            for channel, send in (("email", lambda: send_email(gw.settings, payload)),
                                  ("webhook", lambda: post_webhook(gw.settings, client, payload))):
                try:
                    outcome[channel] = "sent" if await send() else "not configured"
                except Exception as error:  # one channel's failure must not stop the others
                    log.warning("alert %s for %s failed: %s", channel, entry["agency"], error)
                    outcome[channel] = f"failed: {error}"
            delivered.append(outcome)
    return {"day": alerts["day"], "working_day": alerts["working_day"],
            "count": alerts["count"], "delivered": delivered}
