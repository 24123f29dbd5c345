"""Rate per token: a token bucket per bearer token, in this replica's memory (with several replicas
behind a balancer, each allows the rate). Reading the time is the caller's: a pure function of it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class RateLimit:
    rate: float  # batches per second
    burst: float
    _level: dict[int, tuple[float, float]] = field(default_factory=dict)  # key -> (tokens, at)

    @classmethod
    def per_second(cls, rate: float) -> RateLimit:
        return cls(rate=rate, burst=max(1.0, 2 * rate))

    def take(self, key: int, now: float) -> float:
        """0 when the batch may go; else the seconds to wait before the next one would."""
        tokens, at = self._level.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + max(0.0, now - at) * self.rate)
        if tokens >= 1:
            self._level[key] = (tokens - 1, now)
            return 0.0
        self._level[key] = (tokens, now)
        return (1 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
