"""Outage detection with hysteresis, as a pure state machine over (time, outcome).

Open after N consecutive failures, resolve after M consecutive successes; failing again soon after a
recovery reopens the same incident, and more than K open/close cycles in a window mark it flapping
(then it resolves only after a quiet spell). Configuration errors raise one config alert, never an
outage. No I/O and no clock: tests and the benchmark drive it in simulated time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from bot.clock import parse_time
from bot.store.models import ProbeOutcome

FAILING = (ProbeOutcome.FAILURE, ProbeOutcome.DEGRADED)
NEUTRAL = (ProbeOutcome.THROTTLED, ProbeOutcome.LOCAL)


@dataclass(frozen=True)
class Policy:
    open_after: int = 3
    resolve_after: int = 2
    flap_cycles: int = 3
    flap_window: timedelta = timedelta(hours=1)
    reopen_window: timedelta = timedelta(minutes=30)
    interval: timedelta = timedelta(seconds=30)
    recheck: timedelta = timedelta(seconds=10)


@dataclass(frozen=True)
class State:
    failures: int = 0
    successes: int = 0
    first_failure_at: datetime | None = None
    last_failure_at: datetime | None = None
    open: bool = False
    opened: tuple[datetime, ...] = ()  # open times inside the flap window
    flapping: bool = False
    last_resolved_at: datetime | None = None
    config_alerted: bool = False
    suppressed: bool = False
    outcomes: tuple[str, ...] = field(default=())  # failing outcomes of the current streak

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, datetime):
                data[key] = value.isoformat()
        data["opened"] = [moment.isoformat() for moment in self.opened]
        data["outcomes"] = list(self.outcomes)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> State:
        if not data:
            return cls()
        times = {
            k: parse_time(v)
            for k, v in data.items()
            if k in ("first_failure_at", "last_failure_at", "last_resolved_at")
        }
        return cls(
            **{
                **data,
                **times,
                "opened": tuple(parse_time(t) for t in data.get("opened", ())),
                "outcomes": tuple(data.get("outcomes", ())),
            }
        )


class Action(StrEnum):
    """What the runner must do about a decision."""

    OPEN = "open"  # the failure threshold is crossed: open an incident
    REOPEN = "reopen"  # crossed again soon after a recovery: reopen the last one
    FLAPPING = "flapping"  # too many open/close cycles in the window
    RESOLVE = "resolve"  # the success threshold is crossed
    SUPPRESSED = "suppressed"  # crossed during the vendor's maintenance: recorded, not alerted
    CONFIG = "config"  # our own configuration is wrong (not an outage)
    CONFIG_OK = "config_ok"  # the configuration works again


@dataclass(frozen=True)
class Decision:
    action: Action
    at: datetime
    since: datetime | None = None
    outcomes: tuple[str, ...] = ()


def observe(
    state: State, now: datetime, outcome: ProbeOutcome, policy: Policy, suppressed: bool = False
) -> tuple[State, list[Decision]]:
    decisions: list[Decision] = []
    if outcome == ProbeOutcome.CONFIG:
        if not state.config_alerted:
            decisions.append(Decision(Action.CONFIG, now))
        return replace(state, config_alerted=True), decisions
    if state.config_alerted:
        decisions.append(Decision(Action.CONFIG_OK, now))
        state = replace(state, config_alerted=False)
    if outcome in NEUTRAL:
        return state, decisions
    if outcome in FAILING:
        state, more = _failed(state, now, outcome, policy, suppressed)
    else:
        state, more = _succeeded(state, now, policy)
    return state, decisions + more


def _failed(
    state: State, now: datetime, outcome: ProbeOutcome, policy: Policy, suppressed: bool
) -> tuple[State, list[Decision]]:
    state = replace(
        state,
        failures=state.failures + 1,
        successes=0,
        last_failure_at=now,
        first_failure_at=state.first_failure_at or now,
        outcomes=(*state.outcomes, outcome)[-50:],
    )
    if state.open or state.failures < policy.open_after:
        return state, []
    if suppressed:
        return (
            (state, [])
            if state.suppressed
            else (replace(state, suppressed=True), [Decision(Action.SUPPRESSED, now, state.first_failure_at)])
        )
    opened = tuple(t for t in (*state.opened, now) if now - t <= policy.flap_window)
    recent = state.last_resolved_at is not None and now - state.last_resolved_at <= policy.reopen_window
    decisions = [Decision(Action.REOPEN if recent else Action.OPEN, now, state.first_failure_at, state.outcomes)]
    flapping = state.flapping or len(opened) > policy.flap_cycles
    if flapping and not state.flapping:
        decisions.append(Decision(Action.FLAPPING, now))
    return replace(state, open=True, opened=opened, flapping=flapping, suppressed=False), decisions


def _succeeded(state: State, now: datetime, policy: Policy) -> tuple[State, list[Decision]]:
    if not state.open:
        return replace(state, failures=0, successes=0, first_failure_at=None, outcomes=(), suppressed=False), []
    state = replace(state, successes=state.successes + 1)
    quiet = not state.flapping or (
        state.last_failure_at is not None and now - state.last_failure_at >= policy.reopen_window
    )
    if state.successes < policy.resolve_after or not quiet:
        return state, []
    resolved = replace(
        state,
        open=False,
        failures=0,
        successes=0,
        first_failure_at=None,
        outcomes=(),
        last_resolved_at=now,
        flapping=False,
    )
    return resolved, [Decision(Action.RESOLVE, now)]


def next_delay(state: State, policy: Policy) -> timedelta:
    """Re-check fast while something is wrong or recovering; otherwise the normal interval."""
    return policy.recheck if state.failures or state.open else policy.interval
