"""The front-end version chat.z.ai expects in ``X-FE-Version``, read off its landing page.

The page names its bundle under ``prod-fe-x.y.z``; the greatest version on the page wins (by
number: 1.0.185 is newer than 1.0.99). Discovered values are cached; when discovery fails the last
good value, else the profile's configured version, is used.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Callable

from zaiproxy import core
from zaiproxy.upstream.engine import UpstreamEngine
from zaiproxy.upstream.errors import UpstreamError

log = logging.getLogger("zaiproxy.upstream")


class FrontEndVersion:
    def __init__(
        self,
        engine: UpstreamEngine,
        profile: core.Profile,
        *,
        ttl: float = 1800.0,
        retry_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._profile = profile
        self._ttl = ttl
        self._retry_after = retry_after
        self._clock = clock
        self._value: str | None = None
        self._next_check = 0.0
        self._lock = asyncio.Lock()

    @property
    def value(self) -> str:
        """The version to send now (without waiting for a discovery)."""
        return self._value or self._profile.fe_version_fallback

    async def current(self) -> str:
        """The version to send, rediscovered when the cached one is older than the TTL."""
        if self._clock() < self._next_check:
            return self.value
        async with self._lock:
            if self._clock() >= self._next_check:
                await self._discover()
        return self.value

    def invalidate(self) -> None:
        """Forces a discovery before the next request (after a 426 or a WAF 405)."""
        self._next_check = 0.0

    async def _discover(self) -> None:
        try:
            response = await self._engine.fetch(core.landing_page_request(self._profile))
            found = core.discover_fe_version(response.body.decode("utf-8", "replace"))
        except UpstreamError as error:
            log.warning("front-end version discovery failed: %s", error)
            found = None
        if found is None:
            log.warning("no front-end version on the landing page; using %s", self.value)
            self._next_check = self._clock() + self._retry_after
            return
        if found != self._value:
            log.info("chat.z.ai front-end version: %s", found)
        self._value = found
        self._next_check = self._clock() + self._ttl
