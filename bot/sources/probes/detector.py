"""Outage detection per stream, as a pure state machine over (state, time, outcome): no I/O, no clock.

A stream (one model of one probe, or one traffic source) is fed by lanes, kinds of attempt with their
own rates: `messages` (the paid inference call), `count_tokens` and `models` (free), `http`, or
`traffic` rollups. Each lane, and all of them together (`*`), keep their own statistics
(`bot.sources.probes.evidence`):

- **Error rate: a Bernoulli CUSUM against the lane's own baseline.** p0 is the lane's long-run failure
  rate (a running mean over up to 5,000 attempts, learned only while the lane is calm, never below 2%);
  the alarm rate is p1 = max(3·p0, p0 + 7%). Each attempt adds its log-likelihood ratio
  (a failure + ln(p1/p0), a success + ln((1-p1)/(1-p0)), floored at 0); the stream opens when any
  lane's sum reaches 12 nats. At a 3% background the sum drifts down (-0.027 per attempt); at 20% errors
  it climbs by +0.24 per attempt, so ~50 attempts: at 20% errors on every call naming the model
  (messages and count_tokens), p50 146 s, p95 282 s after the onset (bench/detection.py); 10%: p50
  384 s, p95 12.9 min; 5%: p50 24.7 min, p95 66.3 min. Errors that only inference shows reach the
  paid lane alone (30 s, 15 s while suspicious): 20% then takes p50 15.0 min, p95 27.2 min.
- **Hard outage: the fast path.** `open_after` (5) consecutive failures spanning at least 6 s open at
  once (the free lanes confirm a first failure after 2 s and 4 s), so neither a blip of a few seconds
  nor three background failures in a row (3% ** 3, a few times a month at this rate of attempts) do.
  Every call failing opens p50 10 s, p95 13 s, max 15 s after the onset; timeouts (10 s each) p50 32 s,
  p95 38 s.
- **Latency.** Once a lane has 20 successful latencies, its p95 is its baseline (which then follows
  slowly, while calm). The lane is degraded when the p95 of its last 20 latencies is above 2x the
  baseline p95 *and* their median is above the baseline p95, for 5 attempts in a row. Latency x3 on the
  paid lane: p50 ~400 s, but more than 5% of such outages are never detected (the baseline follows the
  window's p95 while the first slow answers arrive, before the median has moved; see bench/detection.py).
- **Resolution with hysteresis.** On opening, each lane starts collecting evidence (an SPRT) that its
  rate is back at p0 rather than at the rate it fails at: 50% after a hard outage, else its window's
  rate, updated by every failure while open (at least p1, at most 50%). The stream resolves
  when every lane that failed since then holds 8 nats of it (12 clean attempts after a hard outage, 40
  after a 20% error rate: a run of 40 successes happens at 20% errors once in ~8,000 attempts), no lane
  is slow, and the last `resolve_after` attempts succeeded. Failing
  again within the reopen window reopens the same incident; more than `flap_cycles` opens within the
  flap window mark it flapping, which then resolves only after a quiet reopen window.
- While suspicious (a failure streak, a CUSUM past a quarter of the threshold, a slow lane, or open),
  `next_delay` probes at `recheck`, never faster than half the interval (at most 2x the normal cost),
  and a lane with `confirm` delays re-checks a first failure after 2 s, then 4 s.

A `config` outcome (the API says our key, request or model is wrong) raises one CONFIG decision and
CONFIG_OK when it works again; it never counts as a failure. 429s and our own network failing are
neutral. During the vendor's maintenance an opening is SUPPRESSED (recorded once, not alerted).

Measured by `bench/detection.py` (200 outages a row, the runner's lanes and `Schedule` at the
default settings, 1% background): the figures above; 0 false incidents in 30 simulated days at 1%
and at 3% background errors with six 2-5 s bursts a day; and the cost of suspicion: 17.0 requests a
minute per model healthy, 35.9 at 20% errors (2.11x: the confirmations after each first failure
come on top of the halved intervals)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.clock import parse_time
from bot.sources.probes.evidence import Lane, Rates, evolve
from bot.store.enums import ProbeOutcome

FAILING = (ProbeOutcome.FAILURE, ProbeOutcome.DEGRADED)
NEUTRAL = (ProbeOutcome.THROTTLED, ProbeOutcome.LOCAL)
ALL = "*"  # the lane that sees every attempt of a stream
DEFAULT_LANE = "main"


@dataclass(frozen=True)
class Policy:
    # the error-rate test
    rates: Rates = field(default_factory=Rates)
    open_at: float = 12.0  # nats of CUSUM evidence that open
    suspect_at: float = 3.0  # nats from which the stream is probed faster
    resolve_at: float = 8.0  # nats of recovery evidence per failed lane that resolve
    # the hard-outage fast path
    open_after: int = 5
    open_span: timedelta = timedelta(seconds=6)
    resolve_after: int = 2
    # latency
    latency_ratio: float = 2.0
    latency_min: int = 10
    latency_sustain: int = 5
    # hysteresis
    flap_cycles: int = 3
    flap_window: timedelta = timedelta(hours=1)
    reopen_window: timedelta = timedelta(minutes=30)
    # scheduling (per lane: the runner gives each lane its own interval)
    interval: timedelta = timedelta(seconds=30)
    recheck: timedelta = timedelta(seconds=15)
    confirm: tuple[timedelta, ...] = (timedelta(seconds=2), timedelta(seconds=4))


_TIMES = ("first_failure_at", "last_failure_at", "last_resolved_at")


@dataclass(frozen=True)
class State:
    failures: int = 0  # the current streak of consecutive failures
    successes: int = 0  # the current streak of consecutive successes
    first_failure_at: datetime | None = None  # since when this episode has been failing
    last_failure_at: datetime | None = None
    open: bool = False
    opened: tuple[datetime, ...] = ()  # open times inside the flap window
    flapping: bool = False
    last_resolved_at: datetime | None = None
    config_alerted: bool = False
    suppressed: bool = False
    outcomes: tuple[str, ...] = ()  # failing outcomes of the current episode (at most 50)
    lanes: dict[str, Lane] = field(default_factory=dict)
    streak_from: datetime | None = None  # the first failure of the current streak

    def lane(self, name: str, policy: Policy) -> Lane:
        return self.lanes.get(name) or Lane.new(policy.rates)

    def suspicious(self, policy: Policy) -> bool:
        return (
            self.open
            or self.failures > 0
            or any(lane.cusum >= policy.suspect_at or lane.slow > 0 for lane in self.lanes.values())
        )

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k not in ("lanes", "opened", "outcomes")}
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["opened"] = [moment.isoformat() for moment in self.opened]
        data["outcomes"] = list(self.outcomes)
        data["lanes"] = {name: lane.to_json() for name, lane in self.lanes.items()}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        if not data:
            return cls()
        times = {k: parse_time(data[k]) if data.get(k) else None for k in (*_TIMES, "streak_from")}
        return cls(
            **{
                **data,
                **times,
                "opened": tuple(parse_time(t) for t in data.get("opened", ())),
                "outcomes": tuple(data.get("outcomes", ())),
                "lanes": {name: Lane.from_json(lane) for name, lane in data.get("lanes", {}).items()},
            }
        )


class Action(StrEnum):
    """What the runner must do about a decision."""

    OPEN = "open"  # the stream is failing: open an incident
    REOPEN = "reopen"  # failing again soon after a recovery: reopen the last one
    FLAPPING = "flapping"  # too many open/close cycles in the window
    RESOLVE = "resolve"  # the stream is healthy again
    SUPPRESSED = "suppressed"  # failing during the vendor's maintenance: recorded, not alerted
    CONFIG = "config"  # our own configuration is wrong (not an outage)
    CONFIG_OK = "config_ok"  # the configuration works again


@dataclass(frozen=True)
class Decision:
    action: Action
    at: datetime
    since: datetime | None = None
    outcomes: tuple[str, ...] = ()
    reason: str = ""  # why, in words: "every attempt failing", "error rate 12/60 ...", "p95 ..."


def observe(
    state: State,
    now: datetime,
    outcome: ProbeOutcome,
    policy: Policy,
    suppressed: bool = False,
    *,
    lane: str = DEFAULT_LANE,
    latency_ms: float | None = None,
) -> tuple[State, list[Decision]]:
    """One attempt's outcome on one lane of the stream."""
    decisions: list[Decision] = []
    if outcome == ProbeOutcome.CONFIG:
        if not state.config_alerted:
            decisions.append(Decision(Action.CONFIG, now))
        return evolve(state, config_alerted=True), decisions
    if state.config_alerted:
        decisions.append(Decision(Action.CONFIG_OK, now))
        state = evolve(state, config_alerted=False)
    if outcome in NEUTRAL:
        return state, decisions
    failed = outcome in FAILING
    state = _streak(state, now, failed, outcome)
    state = _count(state, lane, int(failed), int(not failed), policy)
    if latency_ms is not None and not failed:
        state = _time(state, lane, latency_ms, policy)
    state, more = _decide(state, now, policy, suppressed)
    return state, decisions + more


def observe_counts(
    state: State,
    now: datetime,
    ok: int,
    failed: int,
    policy: Policy,
    suppressed: bool = False,
    errors: tuple[str, ...] = (),
    *,
    lane: str = "traffic",
) -> tuple[State, list[Decision]]:
    """A batch of outcomes seen at `now` (a traffic rollup): the same tests, counted at once. A batch
    with failures and successes breaks any streak, so only an all-failing batch feeds the fast path."""
    if ok < 0 or failed < 0 or ok + failed == 0:
        return state, []
    kinds = tuple(errors) or (ProbeOutcome.FAILURE,) * min(failed, 50)
    if failed:
        state = _streak(state, now, True, *kinds[:failed])
        state = evolve(state, failures=state.failures + failed - 1)
    if ok:
        state = _streak(state, now, False)
    state = _count(state, lane, failed, ok, policy)
    return _decide(state, now, policy, suppressed)


def _streak(state: State, now: datetime, failed: bool, *outcomes: str) -> State:
    if not failed:
        return evolve(state, failures=0, successes=state.successes + 1, streak_from=None)
    return evolve(
        state,
        failures=state.failures + 1,
        successes=0,
        last_failure_at=now,
        first_failure_at=state.first_failure_at or now,
        streak_from=state.streak_from or now,
        outcomes=(*state.outcomes, *outcomes)[-50:],
    )


def _calm(state: State, policy: Policy) -> bool:
    return not state.open and not any(lane.cusum >= policy.suspect_at for lane in state.lanes.values())


def _count(state: State, lane: str, failed: int, ok: int, policy: Policy) -> State:
    calm = _calm(state, policy)
    lanes = dict(state.lanes)
    for name in (lane, ALL):
        lanes[name] = state.lane(name, policy).count(failed, ok, policy.rates, calm)
    return evolve(state, lanes=lanes)


def _time(state: State, lane: str, latency_ms: float, policy: Policy) -> State:
    calm = _calm(state, policy)
    timed = state.lane(lane, policy).timed(latency_ms, policy.latency_ratio, policy.latency_min, calm)
    return evolve(state, lanes={**state.lanes, lane: timed})


def failing_reason(state: State, now: datetime, policy: Policy) -> str | None:
    """Why the stream counts as failing now, or None."""
    if (
        state.failures >= policy.open_after
        and state.streak_from is not None
        and now - state.streak_from >= policy.open_span
    ):
        return f"every attempt failing ({state.failures} in a row)"
    for name, lane in sorted(state.lanes.items()):
        if lane.cusum >= policy.open_at:
            where = "" if name == ALL else f" ({name})"
            return (
                f"error rate {sum(lane.window)}/{len(lane.window)}{where} against a baseline of "
                f"{max(lane.p0, policy.rates.floor):.1%}"
            )
    for name, lane in sorted(state.lanes.items()):
        if lane.slow >= policy.latency_sustain and lane.base_p95 is not None:
            p95 = sorted(lane.latencies)[-2]  # of 20: the nearest-rank 95th percentile
            return f"slow ({name}): p95 {p95:.0f} ms against a baseline of {lane.base_p95:.0f} ms"
    return None


def _decide(state: State, now: datetime, policy: Policy, suppressed: bool) -> tuple[State, list[Decision]]:
    reason = failing_reason(state, now, policy)
    if state.open:
        return _maybe_resolve(state, now, policy, reason)
    if reason is None:
        if state.failures == 0 and not state.suspicious(policy):
            state = evolve(state, first_failure_at=None, outcomes=(), suppressed=False)
        return state, []
    if suppressed:
        if state.suppressed:
            return state, []
        return evolve(state, suppressed=True), [Decision(Action.SUPPRESSED, now, state.first_failure_at or now)]
    return _open(state, now, policy, reason)


def _open(state: State, now: datetime, policy: Policy, reason: str) -> tuple[State, list[Decision]]:
    since = state.first_failure_at or now
    outcomes = state.outcomes or (ProbeOutcome.DEGRADED,)
    opened = tuple(t for t in (*state.opened, now) if now - t <= policy.flap_window)
    recent = state.last_resolved_at is not None and now - state.last_resolved_at <= policy.reopen_window
    decisions = [Decision(Action.REOPEN if recent else Action.OPEN, now, since, outcomes, reason)]
    flapping = state.flapping or len(opened) > policy.flap_cycles
    if flapping and not state.flapping:
        decisions.append(Decision(Action.FLAPPING, now))
    hard = reason.startswith("every attempt")
    lanes = {name: lane.opened(policy.rates, hard) for name, lane in state.lanes.items()}
    return evolve(state, open=True, opened=opened, flapping=flapping, suppressed=False, lanes=lanes), decisions


def _maybe_resolve(state: State, now: datetime, policy: Policy, reason: str | None) -> tuple[State, list[Decision]]:
    """Resolve on each failed lane's evidence of recovery; the CUSUMs (restarted at open) are not asked:
    the evidence they gathered during a long outage would take hours to drain."""
    lanes = [lane for name, lane in state.lanes.items() if name != ALL]
    quiet = not state.flapping or (
        state.last_failure_at is not None and now - state.last_failure_at >= policy.reopen_window
    )
    healthy = (
        state.successes >= policy.resolve_after
        and all(lane.recovered(policy.resolve_at) and lane.slow == 0 for lane in lanes)
        and not (reason or "").startswith("every attempt")
    )
    if not (healthy and quiet):
        return state, []
    resolved = evolve(
        state,
        open=False,
        failures=0,
        successes=0,
        first_failure_at=None,
        streak_from=None,
        outcomes=(),
        last_resolved_at=now,
        flapping=False,
        lanes={name: lane.resolved() for name, lane in state.lanes.items()},
    )
    return resolved, [Decision(Action.RESOLVE, now)]


def next_delay(state: State, policy: Policy) -> timedelta:
    """The next attempt of a lane: a first failure confirmed after `confirm` (2 s, 4 s); faster while
    suspicious, never faster than half the interval (so an incident costs at most twice the normal rate)."""
    if 0 < state.failures <= len(policy.confirm):
        return policy.confirm[state.failures - 1]
    if state.suspicious(policy):
        return max(policy.recheck, policy.interval / 2)
    return policy.interval
