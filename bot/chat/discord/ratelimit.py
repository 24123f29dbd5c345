"""Discord's rate limits for requests statusbot makes itself (the webhook path, plain aiohttp).

The same rules discord.py follows on the bot path: a bucket whose `X-RateLimit-Remaining` reached 0
is not used again before `X-RateLimit-Reset-After`; a 429 holds its bucket (or, when `global`, every
bucket) for `retry_after`. Short waits are slept in line; longer ones become `RetryLater`, so the
outbox schedules the retry instead of a sink sitting on a sleep. `waited` adds up the time slept,
so the benchmark can report rate-limit waits apart from the bot's own work.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from bot.chat.base import RetryLater

MAX_INLINE_WAIT = 5.0
MARGIN = 0.05  # Discord rounds Reset-After to milliseconds; arriving a hair early would be a 429


@dataclass
class _Bucket:
    remaining: int | None = None
    reset_at: float = 0.0


class RateGate:
    def __init__(
        self,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        max_inline_wait: float = MAX_INLINE_WAIT,
    ) -> None:
        self._sleep = sleep
        self._monotonic = monotonic
        self.max_inline_wait = max_inline_wait
        self._buckets: dict[str, _Bucket] = {}
        self._global_until = 0.0
        self.waited = 0.0

    async def wait(self, bucket: str) -> None:
        """Before a request: sleep out a short hold, or say when to come back."""
        delay = self._hold(bucket) - self._monotonic()
        if delay <= 0:
            return
        if delay > self.max_inline_wait:
            raise RetryLater(f"Discord rate limit: {delay:.1f}s to wait", retry_after=delay)
        self.waited += delay
        await self._sleep(delay)

    def _hold(self, bucket: str) -> float:
        state = self._buckets.get(bucket)
        local = state.reset_at if state is not None and state.remaining == 0 else 0.0
        return max(local, self._global_until)

    def update(self, bucket: str, headers: Mapping[str, str]) -> None:
        """After any answer: remember what `X-RateLimit-Remaining` / `-Reset-After` say."""
        remaining, reset_after = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset-After")
        if remaining is None or reset_after is None:
            return
        try:
            state = _Bucket(int(remaining), self._monotonic() + float(reset_after) + MARGIN)
        except ValueError:
            return
        self._buckets[bucket] = state

    def limited(self, bucket: str, retry_after: float, is_global: bool) -> None:
        """A 429: nothing goes to this bucket (or anywhere, if global) for `retry_after` seconds."""
        until = self._monotonic() + retry_after + MARGIN
        if is_global:
            self._global_until = max(self._global_until, until)
        else:
            self._buckets[bucket] = _Bucket(0, until)
