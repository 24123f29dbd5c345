"""The sink-health stage of delivery: backoff belongs to the sink, not to each row.

While a sink fails (5xx, a network error), its rows do not each wait out an exponential backoff of
their own — after a five-minute chat outage that left the last of them minutes behind. Instead
the sink is marked down and one cheap call (`Sink.check`: the platform's cheapest authenticated
call, a token test) asks, at 1, 2, 4, 8 and then every 15 seconds, whether it is back; the moment it
answers, its queue drains in order, paced as usual. A 429's Retry-After is not a sink failure: it
is honoured exactly by the row (and the sink's pacer), as before; a check answered 429 is asked
again once its Retry-After has passed.

A sink that has no cheap check (the console, a webhook-only sink) keeps per-row retries, with the
backoff capped at the same 15 s so it, too, catches up within one interval of coming back.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.chat.base import RetryLater
from bot.clock import Clock

log = logging.getLogger(__name__)
FIRST_CHECK = 1.0
LONGEST_WAIT = 15.0  # the platform is back → we know within this many seconds


class SinkHealth:
    """Whether one sink is reachable, and when to ask next while it is not."""

    def __init__(self, name: str, clock: Clock, check: Callable[[], Awaitable[None]] | None) -> None:
        self.name = name
        self.clock = clock
        self.check = check
        self.down_since: datetime | None = None
        self.next_check: datetime | None = None
        self._checks = 0

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def wait(self) -> float:
        """Seconds until the next check is due (0: now)."""
        if self.next_check is None:
            return 0.0
        return max(0.0, (self.next_check - self.clock.now()).total_seconds())

    async def reachable(self) -> bool:
        """True when the sink can be used now: it was not down, or its check just answered."""
        if not self.down:
            return True
        if self.wait() > 0:
            return False
        return await self.confirm("still failing")

    async def confirm(self, error: str) -> bool:
        """Ask the sink's check now: True (and marked up) if it answers, else marked down."""
        assert self.check is not None
        try:
            await self.check()
        except Exception as exc:  # whatever the platform answers, it is not an answer we can deliver to
            if isinstance(exc, RetryLater) and exc.retry_after is not None:
                self.rate_limited(exc.retry_after)  # a 429: back, but asking us to wait
            else:
                self.failed(f"{error}; check: {type(exc).__name__}: {exc}")
            return False
        self.recovered()
        return True

    def failed(self, error: str) -> float:  # only sinks with a check are ever marked down
        """The sink failed: down (logged once per outage) until the check due in the returned seconds."""
        now = self.clock.now()
        if self.down_since is None:
            self.down_since = now
            log.warning(
                "%s: unreachable (%s); its queue waits, checking every %gs at most",
                self.name,
                error[:200],
                LONGEST_WAIT,
                extra={"sink": self.name},
            )
        delay = min(LONGEST_WAIT, FIRST_CHECK * 2.0**self._checks)
        self._checks += 1
        self.next_check = now + timedelta(seconds=delay)
        return delay

    def rate_limited(self, retry_after: float) -> None:
        """The check was answered 429: the platform is back but asks for `retry_after` seconds. It is
        asked again then, not after the outage's backoff (up to LONGEST_WAIT)."""
        if self.down_since is None:
            self.down_since = self.clock.now()
        self.next_check = self.clock.now() + timedelta(seconds=max(0.0, retry_after))

    def recovered(self) -> None:
        if self.down_since is not None:
            outage = self.clock.now() - self.down_since
            log.info("%s: reachable again after %s; delivering its queue", self.name, outage, extra={"sink": self.name})
        self.down_since, self.next_check, self._checks = None, None, 0
