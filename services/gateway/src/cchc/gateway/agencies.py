"""Which agency codes are registered, as the dossier service's ``list-agencies`` says.

A token's ``agency`` must be one of them. Agencies are registered, never removed, so a code once
seen stays good (the whole list is re-read every ``agency_refresh_s`` all the same). A code not
in the list is asked again at once, reading at least up to the end of the dossier log (an agency
registered a moment ago, through any replica, is found), and a code still missing is remembered
as missing for ``agency_miss_ttl_s``, so a token naming an unknown agency costs one query per
that period, not one per request.
"""

import asyncio
import logging
import re
import time

from nats.aio.client import Client as NATS

from cchc.contracts.dossier_commands import SERVICE
from cchc.contracts.messages import CommandMeta, Principal, Request, Role
from cchc.contracts.subjects import TOKEN_PATTERN, stream_name
from cchc.runtime.endpoints import ServiceClient, ServiceUnavailable

log = logging.getLogger("cchc.gateway.agencies")

# The gateway asks as itself: a reader of everything that writes nothing.
DIRECTORY_PRINCIPAL = Principal(sub="cchc-gateway", role=Role.INSPECTOR)
PAGE = 500
MAX_MISSES = 10_000
_CODE = re.compile(TOKEN_PATTERN)


class DirectoryUnavailable(Exception):
    """The dossier service did not answer: whether the agency exists is not known."""


def is_agency_code(code: str) -> bool:
    """A code as agencies are registered with: no wildcard, no subject separator."""
    return bool(_CODE.match(code))


class AgencyDirectory:
    def __init__(self, nc: NATS, client: ServiceClient, miss_ttl_s: float = 2.0,
                 refresh_s: float = 60.0) -> None:
        self._nc = nc
        self._client = client
        self._miss_ttl_s = miss_ttl_s
        self._refresh_s = refresh_s
        self._codes: set[str] = set()
        self._read_at = float("-inf")  # monotonic time the last full read started
        self._misses: dict[str, float] = {}
        self._lock = asyncio.Lock()

    async def is_registered(self, code: str) -> bool:
        if not is_agency_code(code):
            return False
        now = time.monotonic()
        if code in self._codes:
            if now - self._read_at > self._refresh_s:
                try:
                    await self._read(asked_at=now)
                except DirectoryUnavailable:
                    pass  # a code once registered stays registered
            return True
        if self._misses.get(code, float("-inf")) > now:
            return False
        await self._read(asked_at=now, consistent=True)
        if code in self._codes:
            return True
        if len(self._misses) >= MAX_MISSES:
            self._misses.clear()
        self._misses[code] = time.monotonic() + self._miss_ttl_s
        return False

    async def _read(self, asked_at: float, consistent: bool = False) -> None:
        async with self._lock:
            if self._read_at >= asked_at:
                return  # a read that started after the question was asked answered it
            started = time.monotonic()
            min_position = await self._log_end() if consistent else None
            codes: set[str] = set()
            cursor = None
            while True:
                body = {"limit": PAGE, "cursor": cursor}
                request = Request(
                    meta=CommandMeta(principal=DIRECTORY_PRINCIPAL,
                                     correlation_id="gateway-agency-directory"),
                    body=body, min_position=min_position,
                )
                try:
                    reply = await self._client.call(SERVICE, "list-agencies", request)
                except ServiceUnavailable as error:
                    raise DirectoryUnavailable(str(error)) from error
                if not reply.ok or not isinstance(reply.result, dict):
                    detail = reply.problem.detail if reply.problem else "no result"
                    raise DirectoryUnavailable(f"list-agencies answered: {detail}")
                items = reply.result.get("items") or []
                codes.update(str(item["code"]) for item in items
                             if isinstance(item, dict) and "code" in item)
                cursor = reply.result.get("next_cursor")
                if not cursor:
                    break
            self._codes |= codes
            self._misses = {c: t for c, t in self._misses.items() if c not in codes}
            self._read_at = started

    async def _log_end(self) -> int | None:
        """The last position of the dossier log, so the read includes every registration."""
        try:
            info = await self._nc.jetstream(timeout=2.0).stream_info(stream_name(SERVICE))
        except Exception:  # noqa: BLE001 - no stream yet, or JetStream busy: read what there is
            return None
        return info.state.last_seq or None
