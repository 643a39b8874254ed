"""How often one client may ask the public lookup: a moving window per client address.

The public routes need no token, so a guesser of receipt codes is slowed down here: each client
address gets ``CCHC_GATEWAY_PUBLIC_RATE_LIMIT`` requests (default "30/minute") across the public
API and page, then 429 with ``Retry-After`` until the window moves on. Kept in this process's
memory (``limits``' moving window); with several gateway replicas each counts its own clients.
"""

import math
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from cchc.gateway.problems import problem


class PublicRateLimit:
    def __init__(self, rate: str) -> None:
        self.item = parse(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client: str) -> None:
        """Count one request of ``client``; 429 once it has used up its window."""
        if self._limiter.hit(self.item, "public", client):
            return
        reset_at, _ = self._limiter.get_window_stats(self.item, "public", client)
        wait = max(1, math.ceil(reset_at - time.time()))
        raise problem(429, f"too many lookups from this address; try again in {wait} s",
                      headers={"Retry-After": str(wait)})
