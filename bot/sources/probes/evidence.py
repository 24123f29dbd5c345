"""The statistics one detector lane keeps: a Bernoulli CUSUM of its failure rate against its own
baseline, the evidence of recovery, and its latency against its own baseline p95. Pure arithmetic on
frozen values; `bot.sources.probes.detector` says what the numbers mean and when they open an incident.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

WINDOW = 60  # attempts kept per lane for the error rate shown and for the rate a recovery is measured against
LATENCIES = 20  # successful latencies kept per lane for the window's p95


@dataclass(frozen=True)
class Rates:
    """What the failure rate is tested between: the lane's baseline p0 and the alarm rate p1."""

    floor: float = 0.02  # p0 never below this: a young or very clean stream does not alarm on one blip
    ratio: float = 3.0  # p1 = max(ratio * p0, p0 + margin)
    margin: float = 0.07
    prior: float = 0.01  # the baseline of a new lane ...
    prior_weight: int = 200  # ... worth this many attempts
    horizon: int = 5000  # attempts the baseline averages over (an exponential moving average after that)

    def alarm(self, p0: float) -> float:
        return min(0.5, max(self.ratio * p0, p0 + self.margin))


def evolve(value: T, **changes: Any) -> T:
    """`dataclasses.replace` for these hot paths (the benchmark feeds millions of attempts), 5x faster."""
    return type(value)(**{**value.__dict__, **changes})


def llr(failed: int, ok: int, p0: float, p1: float) -> float:
    """Log-likelihood ratio of `failed` failures and `ok` successes under rate p1 against p0 (nats)."""
    return failed * math.log(p1 / p0) + ok * math.log((1 - p1) / (1 - p0))


@dataclass(frozen=True)
class Lane:
    """One lane of a stream (one kind of attempt: `messages`, `count_tokens`, ... or `*`, all of them)."""

    p0: float = 0.01  # baseline failure rate
    seen: int = 200  # attempts behind p0 (starts at the prior's weight)
    cusum: float = 0.0  # evidence (nats) that the rate is at p1 rather than p0; opens at `open_at`
    recovery: float = 0.0  # while open: evidence that the rate is back at p0 rather than `against`
    against: float = 0.0  # while open: the rate recovery is measured against (the rate seen at open)
    open_failed: int = 0  # failed attempts since the incident opened (and just before) ...
    open_seen: int = 0  # ... of these (up to the last failure)
    pending_ok: int = 0  # successes since the last failure, not yet in open_seen
    window: tuple[int, ...] = ()  # recent attempts, 1 = failed
    latencies: tuple[float, ...] = ()  # recent successful latencies (ms)
    base_p95: float | None = None  # baseline p95 latency (ms)
    slow: int = 0  # consecutive attempts after which the window's p95 stayed above the latency limit

    @classmethod
    def new(cls, rates: Rates) -> Lane:
        return cls(p0=rates.prior, seen=rates.prior_weight)

    def p1(self, rates: Rates) -> float:
        return rates.alarm(max(self.p0, rates.floor))

    def rate(self) -> float:
        return sum(self.window) / len(self.window) if self.window else 0.0

    def count(self, failed: int, ok: int, rates: Rates, calm: bool) -> Lane:
        """Add a batch of outcomes: the CUSUM, the recovery evidence, the window, and (when calm) the baseline."""
        p0 = max(self.p0, rates.floor)
        p1 = rates.alarm(p0)
        cusum = max(0.0, self.cusum + llr(failed, ok, p0, p1))
        window = (*self.window, *([1] * min(failed, WINDOW)), *([0] * min(ok, WINDOW)))[-WINDOW:]
        lane = evolve(self, cusum=cusum, window=window)
        if self.against > 0:  # open: recovery is told apart from the rate while it failed
            open_failed, open_seen = self.open_failed + failed, self.open_seen
            if failed:  # the successes since the last failure join the rate only once it fails again
                open_seen += failed + ok + self.pending_ok
            pending_ok = 0 if failed else self.pending_ok + ok
            against = min(0.5, max(p1, open_failed / max(open_seen, 1)))
            recovery = max(0.0, self.recovery - llr(failed, ok, p0, against))
            lane = evolve(
                lane,
                recovery=recovery,
                against=against,
                open_failed=open_failed,
                open_seen=open_seen,
                pending_ok=pending_ok,
            )
        if not calm:
            return lane
        n = failed + ok
        seen = min(self.seen + n, rates.horizon)
        return evolve(lane, seen=seen, p0=self.p0 + (failed - n * self.p0) / seen)

    def opened(self, rates: Rates, hard: bool) -> Lane:
        """The incident opened: measure recovery, from no evidence, against the rate it failed at: 50% after
        a hard outage, else the rate of the lane's window (the failures in it count as failed while open)."""
        failed, seen = (1, 2) if hard else (sum(self.window), len(self.window))
        against = min(0.5, max(failed / max(seen, 1), self.p1(rates)))
        return evolve(self, cusum=0.0, recovery=0.0, against=against, open_failed=failed, open_seen=seen, pending_ok=0)

    def resolved(self) -> Lane:
        return evolve(self, cusum=0.0, recovery=0.0, against=0.0, open_failed=0, open_seen=0, pending_ok=0, slow=0)

    def recovered(self, needed: float) -> bool:
        return self.open_failed == 0 or self.recovery >= needed

    def timed(self, latency_ms: float, ratio: float, minimum: int, calm: bool) -> Lane:
        """Add a successful attempt's latency; count how long the window's p95 has stayed above the limit."""
        latencies = (*self.latencies, latency_ms)[-LATENCIES:]
        lane = evolve(self, latencies=latencies)
        if len(latencies) < minimum:
            return lane
        ordered = sorted(latencies)
        p95, p50 = ordered[math.ceil(0.95 * len(ordered)) - 1], ordered[math.ceil(0.5 * len(ordered)) - 1]
        if self.base_p95 is None:
            return evolve(lane, base_p95=p95) if len(latencies) >= LATENCIES else lane
        slow = p95 > ratio * self.base_p95 and p50 > self.base_p95
        lane = evolve(lane, slow=self.slow + 1 if slow else 0)
        if calm and not slow and self.slow == 0:
            lane = evolve(lane, base_p95=self.base_p95 + (p95 - self.base_p95) / 50)
        return lane

    def to_json(self) -> dict[str, Any]:
        return {**self.__dict__, "window": list(self.window), "latencies": list(self.latencies)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lane:
        return cls(**{**data, "window": tuple(data["window"]), "latencies": tuple(data["latencies"])})
