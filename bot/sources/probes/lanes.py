"""The lanes of a probe's streams and when each runs: the scheduling policy the runner and
`bench/detection.py` share. Pure: no scheduler, no clock.

An `anthropic_messages` probe has, per model, three lanes: `messages` (the paid call, max_tokens 1,
at the probe interval), and two free ones: `count_tokens` (POST /v1/messages/count_tokens, at the
fast interval) and `models` (GET /v1/models/{model}, at twice it, half a fast interval after), so a
free probe runs every 3 s at the defaults. The free lanes confirm a first failure after 2 s and 4 s.
An `anthropic_models` or `http` probe has one lane, which confirms its own failures.

Cost in requests, per model, at the defaults (probe_interval 30 s, probe_fast_interval 6 s):
messages 60/30 = 2 a minute, count_tokens 60/6 = 10, models 60/12 = 5: 17 requests a minute, 2 of
them paid (2,880 paid calls a day). While a stream looks suspicious each lane runs at most twice as
often (never faster than half its interval; the two confirmations of a first failure aside): 4 + 20
+ 10 = 34 a minute. The lowest tier's limits (Tier 1: 50 requests a minute on the Messages API, as
third parties quote Anthropic's rate-limit page; token counting has its own per-tier
requests-per-minute limit, ../shared/REFERENCE.md (b), whose figure is not in our references) then
hold: Messages 4/min per model in an incident, so 12 models fit; count_tokens 20/min per model in an
incident, so 2 models fit even if token counting were held to the same 50/min (5 at 100/min). Were
every endpoint to share one 50/min budget, 2 models fit at the normal rate (34/min), one of them
failing only just (17 + 34 = 51/min). More models: raise `probe_fast_interval` (its requests scale
as 1/interval). A 429 is neutral (never an outage).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.sources.probes import detector

MESSAGES, COUNT_TOKENS, MODELS, HTTP = "messages", "count_tokens", "models", "http"


@dataclass(frozen=True)
class LaneSpec:
    name: str
    policy: detector.Policy  # its interval, its suspicious re-check, its confirmations
    offset: timedelta = timedelta(0)  # its first run after start, so lanes and models interleave


def lanes_for(
    kind: str, policy: detector.Policy, fast_interval: timedelta, index: int = 0, count: int = 1
) -> tuple[LaneSpec, ...]:
    """The lanes of the `index`-th of `count` streams of a probe; `policy` holds the probe's interval."""
    stagger = fast_interval * index / max(count, 1) / 2
    if kind == "anthropic_messages":
        counts = replace(policy, interval=fast_interval, recheck=fast_interval / 2)
        listing = replace(policy, interval=fast_interval * 2, recheck=fast_interval)
        return (
            LaneSpec(MESSAGES, replace(policy, confirm=()), policy.interval * index / max(count, 1)),
            LaneSpec(COUNT_TOKENS, counts, stagger),
            LaneSpec(MODELS, listing, stagger + fast_interval / 2),
        )
    return (LaneSpec(MODELS if kind == "anthropic_models" else HTTP, policy, policy.interval * index / max(count, 1)),)


def plan(
    state: detector.State,
    now: datetime,
    ran: str,
    due: Mapping[str, datetime],
    lanes: Sequence[LaneSpec],
    busy: frozenset[str] = frozenset(),
) -> dict[str, datetime]:
    """When each lane of a stream runs next, after lane `ran` finished at `now` leaving `state`.

    The lane that ran waits its own next delay; the others are pulled in when the stream turned
    suspicious (never pushed back), except those still in flight (`busy`): their own end plans them."""
    planned = dict(due)
    for lane in lanes:
        delay = detector.next_delay(state, lane.policy)
        if lane.name == ran:
            planned[lane.name] = now + delay
        elif lane.name not in busy:
            planned[lane.name] = min(planned.get(lane.name, now + delay), now + delay)
    return planned
