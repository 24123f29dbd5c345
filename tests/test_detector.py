"""The detector on its own: a pure function of (state, time, outcome), driven in simulated time.
Seeded random outcomes prove the statistics; hypothesis proves the invariants on any sequence."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.sources.probes import detector
from bot.sources.probes.detector import Action, Policy, State
from bot.store.enums import ProbeOutcome

START = datetime(2026, 4, 1, tzinfo=UTC)
POLICY = Policy()
OPENS = (Action.OPEN, Action.REOPEN)


def feed(
    rate: float, attempts: int, seed: int, state: State | None = None, step: float = 5.0, lane: str = "main"
) -> tuple[State, list[detector.Decision], datetime]:
    """`attempts` outcomes failing at `rate`, one every `step` seconds; all the decisions taken."""
    rng, state, now, seen = random.Random(seed), state or State(), START, []
    for _ in range(attempts):
        outcome = ProbeOutcome.FAILURE if rng.random() < rate else ProbeOutcome.OK
        state, decisions = detector.observe(state, now, outcome, POLICY, lane=lane, latency_ms=100.0)
        seen += decisions
        now += timedelta(seconds=step)
    return state, seen, now


def first_open(decisions: list[detector.Decision]) -> detector.Decision | None:
    return next((d for d in decisions if d.action in OPENS), None)


def test_a_twenty_percent_error_rate_opens_within_a_few_minutes_of_attempts() -> None:
    for seed in range(20):
        calm, decisions, _ = feed(0.01, 400, seed)
        assert decisions == []
        state, decisions, _ = feed(0.2, 150, seed, calm)
        opened = first_open(decisions)
        assert opened is not None and opened.reason.startswith("error rate"), seed
        assert state.open


def test_three_percent_background_errors_open_nothing_over_fifty_thousand_attempts() -> None:
    state, decisions, _ = feed(0.03, 50_000, seed=11)
    assert [d for d in decisions if d.action in OPENS] == []
    assert 0.025 < state.lanes["main"].p0 < 0.035  # the baseline learned the stream's own noise


def test_the_baseline_is_the_streams_own_a_noisy_stream_needs_more_to_open() -> None:
    noisy, _, _ = feed(0.08, 5000, seed=2)
    clean, _, _ = feed(0.0, 5000, seed=2)
    assert noisy.lanes["main"].p1(POLICY.rates) > clean.lanes["main"].p1(POLICY.rates)
    _, on_noisy, _ = feed(0.15, 200, seed=3, state=noisy)
    _, on_clean, _ = feed(0.15, 200, seed=3, state=clean)
    assert first_open(on_clean) is not None and first_open(on_noisy) is None


def test_latency_three_times_the_baseline_opens_and_the_usual_jitter_does_not() -> None:
    rng, state, now = random.Random(5), State(), START
    for n in range(400):
        latency = 100.0 * rng.lognormvariate(0, 0.25) * (3 if n >= 300 else 1)
        state, decisions = detector.observe(
            state, now, ProbeOutcome.OK, POLICY, lane="count_tokens", latency_ms=latency
        )
        if n < 300:
            assert decisions == []
        elif decisions:
            assert decisions[0].action == Action.OPEN and decisions[0].reason.startswith("slow")
            assert n - 300 <= 20
            return
        now += timedelta(seconds=5)
    raise AssertionError("a 3x slowdown never opened")


def test_a_hard_outage_opens_on_the_fast_path_but_a_short_burst_does_not() -> None:
    state, now = feed(0.0, 100, seed=1)[0], START + timedelta(hours=1)
    for offset in (0, 2, 4):  # a 4 s burst seen by the first attempt and two confirmations
        state, decisions = detector.observe(state, now + timedelta(seconds=offset), ProbeOutcome.FAILURE, POLICY)
        assert decisions == []
    state, decisions = detector.observe(state, now + timedelta(seconds=6), ProbeOutcome.OK, POLICY)
    assert decisions == [] and not state.open
    for offset in range(10, 10 + 2 * POLICY.open_after, 2):
        state, decisions = detector.observe(state, now + timedelta(seconds=offset), ProbeOutcome.FAILURE, POLICY)
    assert [d.action for d in decisions] == [Action.OPEN]


def test_counts_open_on_an_error_rate_and_not_on_the_background() -> None:
    state, now = State(), START
    for _ in range(60 * 24):  # a day of per-minute rollups at 2% errors
        state, decisions = detector.observe_counts(state, now, ok=98, failed=2, policy=POLICY)
        assert decisions == []
        now += timedelta(minutes=1)
    state, decisions = detector.observe_counts(
        state, now, ok=80, failed=20, policy=POLICY, errors=("overloaded_error",)
    )
    [opened] = decisions
    assert opened.action == Action.OPEN and opened.outcomes[0] == "overloaded_error"
    for _ in range(10):
        now += timedelta(minutes=1)
        state, decisions = detector.observe_counts(state, now, ok=100, failed=0, policy=POLICY)
        if decisions:
            assert [d.action for d in decisions] == [Action.RESOLVE]
            return
    raise AssertionError("clean rollups never resolved")


def test_garbage_counts_change_nothing() -> None:
    state = State()
    for ok, failed in ((0, 0), (-1, 5), (5, -1)):
        assert detector.observe_counts(state, START, ok=ok, failed=failed, policy=POLICY) == (state, [])


def test_next_delay_confirms_a_first_failure_then_probes_at_most_twice_as_often() -> None:
    state = State()
    assert detector.next_delay(state, POLICY) == POLICY.interval
    delays = []
    for n in range(4):
        state, _ = detector.observe(state, START + timedelta(seconds=n), ProbeOutcome.FAILURE, POLICY)
        delays.append(detector.next_delay(state, POLICY))
    assert delays[:2] == [timedelta(seconds=2), timedelta(seconds=4)]
    assert delays[2:] == [max(POLICY.recheck, POLICY.interval / 2)] * 2
    eager = Policy(recheck=timedelta(seconds=1))
    assert detector.next_delay(state, eager) == eager.interval / 2  # never more than 2x the cost


def test_maintenance_suppresses_once_and_opens_after_it() -> None:
    state, now, actions = State(), START, []
    for n in range(20):
        state, decisions = detector.observe(state, now, ProbeOutcome.FAILURE, POLICY, suppressed=n < 10)
        actions += [d.action for d in decisions]
        now += timedelta(seconds=5)
    assert actions == [Action.SUPPRESSED, Action.OPEN]


def test_a_state_stored_before_the_lanes_existed_still_loads() -> None:
    old = {
        "failures": 2,
        "successes": 0,
        "first_failure_at": "2026-04-01T00:00:00+00:00",
        "last_failure_at": "2026-04-01T00:00:10+00:00",
        "open": False,
        "opened": [],
        "flapping": False,
        "last_resolved_at": None,
        "config_alerted": False,
        "suppressed": False,
        "outcomes": ["failure", "failure"],
    }
    state = State.from_json(old)
    assert state.failures == 2 and state.lanes == {}
    assert detector.observe(state, START, ProbeOutcome.OK, POLICY)[0].failures == 0


OUTCOMES = st.sampled_from(list(ProbeOutcome))
STEPS = st.lists(
    st.tuples(OUTCOMES, st.floats(0.1, 120.0), st.sampled_from(["messages", "count_tokens", "models"])),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(STEPS, st.booleans())
def test_any_sequence_keeps_the_invariants(steps: list[tuple[ProbeOutcome, float, str]], suppressed: bool) -> None:
    state, now, open_, config = State(), START, False, False
    for outcome, gap, lane in steps:
        now += timedelta(seconds=gap)
        state, decisions = detector.observe(state, now, outcome, POLICY, suppressed, lane=lane, latency_ms=gap * 10)
        for decision in decisions:
            if decision.action in OPENS:
                assert not open_ and not suppressed and decision.since is not None and decision.since <= now
                open_ = True
            elif decision.action == Action.RESOLVE:
                assert open_
                open_ = False
            elif decision.action == Action.CONFIG:
                assert not config
                config = True
            elif decision.action == Action.CONFIG_OK:
                assert config
                config = False
        assert state.open == open_
        assert State.from_json(json.loads(json.dumps(state.to_json()))) == state
        delay = detector.next_delay(state, POLICY)
        assert min(POLICY.confirm) <= delay <= POLICY.interval


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([ProbeOutcome.OK, ProbeOutcome.THROTTLED, ProbeOutcome.LOCAL, ProbeOutcome.CONFIG])))
def test_no_sequence_without_failures_opens(outcomes: list[ProbeOutcome]) -> None:
    state, now = State(), START
    for outcome in outcomes:
        state, decisions = detector.observe(state, now, outcome, POLICY)
        assert not any(d.action in OPENS for d in decisions)
        now += timedelta(seconds=3)
