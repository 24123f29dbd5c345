"""Detection figures in simulated time, through the real detector and the runner's own lane plan
(`lanes.lanes_for` / `Schedule`, the code `ProbeRunner` schedules by), at the default settings.

1. Detection delay (p50/p95/max over N outages, default 200) per kind of outage, for a probe of one
   model and for the second model of a two-model probe failing alone (its healthy neighbour must
   open nothing): 100/50/20/10/5% errors, timeouts, latency x3.
2. False incidents over 30 simulated days per model at 1% and 3% background errors with short bursts.

How an outage reaches the lanes (as the loopback fake of the API behaves): errors of a model hit
every call that names the model in its body (`messages`, `count_tokens`); `GET /v1/models/{id}`
fails only in a hard outage of the API (the 100% rows) and in timeouts. "inference only" rows fail
the paid `messages` lane alone. Latency x3 slows the `messages` lane. Background errors hit every
lane; a burst fails every lane for 2-5 s, 6 times a day.

    flock /work/bench.lock python bench/detection.py [--outages 200] [--days 30]
"""

from __future__ import annotations

import argparse
import bisect
import heapq
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from _common import percentile

from bot.config import Settings
from bot.sources.probes import detector, lanes
from bot.sources.probes.schedule import Schedule
from bot.sources.probes.streams import lanes_of, policy_from
from bot.store.enums import ProbeOutcome

START = datetime(2026, 1, 1, tzinfo=UTC)
SETTINGS = Settings(database_url="sqlite://")
POLICY = policy_from(SETTINGS)
TIMEOUT = timedelta(seconds=SETTINGS.probe_timeout)
OPENS = (detector.Action.OPEN, detector.Action.REOPEN)
LATENCY_MS = {lanes.MESSAGES: 450.0, lanes.COUNT_TOKENS: 120.0, lanes.MODELS: 90.0}
MODEL_CALLS = frozenset({lanes.MESSAGES, lanes.COUNT_TOKENS})
EVERY_LANE = frozenset(LATENCY_MS)


@dataclass(frozen=True)
class Outage:
    """What fails from `at` on: `rate` of the attempts of `hit` lanes (timeouts take the probe timeout)."""

    label: str
    rate: float = 1.0
    hit: frozenset[str] = MODEL_CALLS
    timeout: bool = False
    slower: float = 1.0  # latency multiplier of the messages lane


OUTAGES = (
    Outage("100% errors", 1.0, EVERY_LANE),
    Outage("50% errors", 0.5),
    Outage("20% errors", 0.2),
    Outage("10% errors", 0.1),
    Outage("5% errors", 0.05),
    Outage("timeouts", 1.0, EVERY_LANE, timeout=True),
    Outage("latency x3", 0.0, frozenset(), slower=3.0),
    Outage("20% errors, inference only", 0.2, frozenset({lanes.MESSAGES})),
)


@dataclass
class Stream:
    """What the bench sees of one model's stream: its detector state and when it opened."""

    state: detector.State = field(default_factory=detector.State)
    opened: list[datetime] = field(default_factory=list)


Attempt = Callable[[str, str, datetime], tuple[ProbeOutcome, float, timedelta]]  # stream, lane, at


def run(streams: dict[str, Stream], attempt: Attempt, until: datetime, stop_on_open: str | None = None) -> Counter[str]:
    """Discrete events through the runner's own `Schedule`: a lane starts when due and finishes after its
    attempt takes; the finish feeds the detector and plans the stream's lanes. Returns attempts per lane."""
    schedule = Schedule.starting(
        {key: lanes_of("anthropic_messages", SETTINGS, i, len(streams)) for i, key in enumerate(streams)}, START
    )
    finishing: list[tuple[datetime, int, str, str, ProbeOutcome, float]] = []
    made: Counter[str] = Counter()
    seq = 0
    while True:
        free = schedule.next()
        if finishing and (free is None or finishing[0][0] <= free[1]):  # a lane ends before the next starts
            done, _, key, lane, outcome, latency = heapq.heappop(finishing)
            if _finish(streams[key], schedule, key, lane, done, outcome, latency) and stop_on_open == key:
                return made
            continue
        if free is None or free[1] > until:
            return made
        (key, lane), at = free
        outcome, latency, takes = attempt(key, lane, at)
        schedule.begin(key, lane)
        made[lane] += 1
        heapq.heappush(finishing, (at + takes, seq, key, lane, outcome, latency))
        seq += 1


def _finish(
    stream: Stream, schedule: Schedule, key: str, lane: str, now: datetime, outcome: ProbeOutcome, latency: float
) -> bool:
    spec = schedule.lane(key, lane)
    stream.state, decisions = detector.observe(
        stream.state, now, outcome, spec.policy, lane=lane, latency_ms=latency if outcome == ProbeOutcome.OK else None
    )
    opened = [now for d in decisions if d.action in OPENS]
    stream.opened += opened
    schedule.finish(key, lane, stream.state, now)
    return bool(opened)


def world(
    rng: random.Random,
    background: float,
    outage: Outage | None,
    failing: str,
    at: datetime,
    bursts: list[tuple[datetime, timedelta]],
) -> Attempt:
    def attempt(key: str, lane: str, now: datetime) -> tuple[ProbeOutcome, float, timedelta]:
        latency = LATENCY_MS[lane] * rng.lognormvariate(0, 0.25)
        in_outage = outage is not None and key == failing and now >= at
        if in_outage and outage is not None and outage.timeout and lane in outage.hit:
            return ProbeOutcome.FAILURE, TIMEOUT / timedelta(milliseconds=1), TIMEOUT
        if in_outage and outage is not None and lane == lanes.MESSAGES:
            latency *= outage.slower
        failed = rng.random() < background or _in_burst(bursts, now)
        if in_outage and outage is not None and lane in outage.hit:
            failed = failed or rng.random() < outage.rate
        outcome = ProbeOutcome.FAILURE if failed else ProbeOutcome.OK
        return outcome, latency, timedelta(milliseconds=latency)

    return attempt


def _in_burst(bursts: list[tuple[datetime, timedelta]], now: datetime) -> bool:
    index = bisect.bisect_right(bursts, (now, timedelta.max)) - 1
    return index >= 0 and now < bursts[index][0] + bursts[index][1]


def streams_of(models: int) -> dict[str, Stream]:
    return {f"m{i}": Stream() for i in range(models)}


def delays(outage: Outage, models: int, count: int, rng: random.Random) -> tuple[list[float], int]:
    """Seconds from onset to the failing stream's incident, per outage; and incidents of healthy streams."""
    failing, found, healthy = f"m{models - 1}", [], 0
    for _ in range(count):
        streams = streams_of(models)
        onset = START + timedelta(hours=2, seconds=rng.uniform(0, 60))  # a learnt baseline, any phase
        attempt = world(rng, 0.01, outage, failing, onset, [])
        run(streams, attempt, onset + timedelta(hours=2), stop_on_open=failing)
        opened = streams[failing].opened
        found.append((opened[0] - onset).total_seconds() if opened else float("inf"))
        healthy += sum(len(s.opened) for k, s in streams.items() if k != failing)
    return found, healthy


def false_incidents(background: float, days: int, rng: random.Random) -> int:
    bursts = sorted(
        (START + timedelta(seconds=rng.uniform(0, days * 86400)), timedelta(seconds=rng.uniform(2, 5)))
        for _ in range(6 * days)
    )
    streams = streams_of(1)
    run(streams, world(rng, background, None, "", START, bursts), START + timedelta(days=days))
    return len(streams["m0"].opened)


def cost(outage: Outage | None, rng: random.Random, hours: int = 6) -> Counter[str]:
    """Requests per lane per minute of one model: healthy, or with `outage` from the start (then open)."""
    attempt = world(rng, 0.01, outage, "m0", START, [])
    made = run(streams_of(1), attempt, START + timedelta(hours=hours))
    return Counter({lane: round(n / (hours * 60), 1) for lane, n in made.items()})


def _seconds(value: float) -> str:
    if value == float("inf"):
        return "never"
    return f"{value:.0f} s" if value < 600 else f"{value / 60:.1f} min"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--outages", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    rng = random.Random(2026)
    started = time.process_time()
    print(f"detection delay over {args.outages} outages each, default settings, probes only, 1% background")
    print(f"{'outage':<30} {'models':<22} {'p50':>8} {'p95':>8} {'max':>8}  healthy model opened")
    for outage in OUTAGES:
        for models, label in ((1, "one model"), (2, "2nd of 2, alone")):
            found, healthy = delays(outage, models, args.outages, rng)
            figures = [_seconds(percentile(found, q)) for q in (50, 95)] + [_seconds(max(found))]
            print(f"{outage.label:<30} {label:<22} {figures[0]:>8} {figures[1]:>8} {figures[2]:>8}  {healthy}")
    for background in (0.01, 0.03):
        opened = false_incidents(background, args.days, rng)
        print(
            f"false incidents, {background:.0%} background + 6 bursts (2-5 s) a day: {opened} in {args.days} "
            "simulated days (one model)"
        )
    normal, failing = cost(None, rng), cost(OUTAGES[2], rng)
    print(
        "requests a minute per model (messages, count_tokens, models): healthy "
        f"{normal[lanes.MESSAGES]}, {normal[lanes.COUNT_TOKENS]}, {normal[lanes.MODELS]} = "
        f"{sum(normal.values()):.1f}; at 20% errors (suspicious, then open) {failing[lanes.MESSAGES]}, "
        f"{failing[lanes.COUNT_TOKENS]}, {failing[lanes.MODELS]} = {sum(failing.values()):.1f} "
        f"({sum(failing.values()) / sum(normal.values()):.2f}x)"
    )
    print(f"(simulated in {time.process_time() - started:.0f} CPU s)")


if __name__ == "__main__":
    main()
