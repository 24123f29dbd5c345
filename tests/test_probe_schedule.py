"""The lanes of a model's stream and when each runs (`Schedule`, the plan the runner turns into
APScheduler jobs): pure, in simulated time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.config import Settings
from bot.sources.probes import detector, lanes
from bot.sources.probes.schedule import Schedule
from bot.sources.probes.streams import lanes_of
from bot.store.enums import ProbeOutcome

START = datetime(2026, 4, 1, tzinfo=UTC)
SETTINGS = Settings(database_url="sqlite://")
S = timedelta(seconds=1)


def schedule_of(models: int = 1) -> Schedule:
    specs = {f"m{i}": lanes_of("anthropic_messages", SETTINGS, i, models) for i in range(models)}
    return Schedule.starting(specs, START)


def test_a_model_has_a_paid_lane_and_two_free_ones_staggered_so_one_runs_every_few_seconds() -> None:
    schedule = schedule_of()
    fast = SETTINGS.probe_fast_interval * S
    assert [lane.name for lane in schedule.specs["m0"]] == [lanes.MESSAGES, lanes.COUNT_TOKENS, lanes.MODELS]
    due = {lane: at - START for (_, lane), at in schedule.due.items()}
    assert due == {lanes.MESSAGES: 0 * S, lanes.COUNT_TOKENS: 0 * S, lanes.MODELS: fast / 2}
    two = schedule_of(2)
    offsets = sorted(at - START for (key, lane), at in two.due.items() if lane != lanes.MESSAGES)
    assert offsets == [0 * S, fast / 4, fast / 2, 3 * fast / 4]  # both models' free lanes interleave


def test_a_first_failure_is_confirmed_after_2_s_and_4_s_and_the_other_lanes_are_pulled_in() -> None:
    schedule, state, now = schedule_of(), detector.State(), START + 60 * S
    policy = schedule.lane("m0", lanes.COUNT_TOKENS).policy
    schedule.due = {slot: now + 3 * S for slot in schedule.due}
    waits = []
    for _ in range(2):
        schedule.begin("m0", lanes.COUNT_TOKENS)
        state, _ = detector.observe(state, now, ProbeOutcome.FAILURE, policy, lane=lanes.COUNT_TOKENS)
        moved = schedule.finish("m0", lanes.COUNT_TOKENS, state, now)
        waits.append(moved[lanes.COUNT_TOKENS] - now)
        now = moved[lanes.COUNT_TOKENS]
    assert waits == [2 * S, 4 * S]
    assert schedule.due[("m0", lanes.MESSAGES)] <= START + 63 * S  # never pushed back


def test_while_suspicious_each_lane_runs_at_most_twice_as_often() -> None:
    schedule, suspicious = schedule_of(), detector.State(open=True)
    for lane in schedule.specs["m0"]:
        normal = detector.next_delay(detector.State(), lane.policy)
        fast = detector.next_delay(suspicious, lane.policy)
        assert normal / 2 <= fast < normal, lane.name


def test_a_lane_in_flight_is_not_planned_until_it_ends() -> None:
    schedule = schedule_of()
    schedule.begin("m0", lanes.MODELS)
    failing = detector.State(failures=3, first_failure_at=START, streak_from=START)
    moved = schedule.finish("m0", lanes.COUNT_TOKENS, failing, START + S)
    assert lanes.MODELS not in moved
    upcoming = schedule.next()
    assert upcoming is not None and upcoming[0][1] != lanes.MODELS
