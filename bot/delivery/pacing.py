"""Per-channel pacing: at most one message per interval on each channel (a platform may ask for ~1/s).

Waiting is injectable so the benchmark can tell rate-limit waits apart from our own overhead and
tests need not sleep for real."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Pacer:
    def __init__(
        self,
        interval: float = 1.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval = interval
        self._sleep = sleep
        self._monotonic = monotonic
        self._next: dict[str, float] = {}
        self.waited = 0.0

    async def wait(self, key: str) -> None:
        now = self._monotonic()
        ready = self._next.get(key, now)
        if ready > now:
            self.waited += ready - now
            await self._sleep(ready - now)
        self._next[key] = max(ready, now) + self.interval

    def hold(self, key: str, seconds: float) -> None:
        """The platform said to wait (429 Retry-After): nothing goes to this channel before then."""
        self._next[key] = max(self._next.get(key, 0.0), self._monotonic() + seconds)
