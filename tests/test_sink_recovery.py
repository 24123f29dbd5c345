"""Backoff belongs to the sink: after a chat outage the queue is delivered within one check interval
of the platform's return, not after each row's own exponential backoff (which had reached minutes)."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from bot.delivery.health import LONGEST_WAIT
from bot.store.models import OutboxMessage
from tests.slack_world import slack_world
from tests.test_slack import SCENARIO, replay


def undelivered(world: object) -> int:
    with world.bot.db.session() as session:  # type: ignore[attr-defined]
        return len(session.exec(select(OutboxMessage).where(col(OutboxMessage.delivered_at).is_(None))).all())


async def test_five_minute_outage_then_everything_within_one_check_interval(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        await replay(world, [0, 3])
        world.slack.outage(True)
        await replay(world, [5.5])  # Slack is down: these wait
        back = SCENARIO.at(3) + timedelta(minutes=5)
        while world.clock.now() < back:  # the worker wakes every few seconds meanwhile
            world.clock.advance(5)
            await world.drain()
        during = [c.method for c in world.slack.calls if c.status == 503]
        world.slack.outage(False)
        assert undelivered(world) > 0
        for _ in range(int(LONGEST_WAIT)):
            world.clock.advance(1)
            await world.drain()
        assert undelivered(world) == 0
        replies = world.replies(world.parents()[0])
        bodies = [u["body"].replace("&", "&amp;") for u in SCENARIO.data["incident"]["updates"] if u["at"] <= 5.5]
        assert [b for b in bodies if b not in json.dumps(replies)] == []
        # one cheap check at a time while it was down, never a post per queued row per try
        assert during.count("chat.postMessage") + during.count("chat.update") <= 2
        assert during.count("auth.test") <= 5 * 60 / LONGEST_WAIT + 5


async def test_a_retry_after_is_still_honoured_exactly(tmp_path: Path) -> None:
    async with slack_world(tmp_path) as world:
        await replay(world, [0])
        world.slack.ratelimit_next(1, retry_after=30)
        await replay(world, [3])
        calls = len(world.slack.calls)
        world.clock.advance(29)
        await world.drain()
        assert [c for c in world.slack.calls[calls:] if c.method == "chat.postMessage"] == []
        world.clock.advance(2)
        await world.drain()
        assert undelivered(world) == 0


async def test_a_rate_limited_check_is_asked_again_after_its_retry_after_not_the_backoff(tmp_path: Path) -> None:
    """Slack back, but its first `auth.test` answers 429 Retry-After: 2. Slack is reachable: the check
    is asked again 2 s later (not after the outage's 15 s backoff), and the queue drains then."""
    async with slack_world(tmp_path) as world:
        await replay(world, [0, 3])
        world.slack.outage(True)
        await replay(world, [5.5])
        for _ in range(12):  # a minute down: the checks are LONGEST_WAIT apart by now
            world.clock.advance(5)
            await world.drain()
        world.slack.outage(False)
        world.slack.ratelimit_next(1, retry_after=2, method="auth.test")
        limited = None
        for second in range(int(LONGEST_WAIT) * 2):
            world.clock.advance(1)
            await world.drain()
            if limited is None and any(c.method == "auth.test" and c.status == 429 for c in world.slack.calls):
                limited = second
            if undelivered(world) == 0:
                break
        assert limited is not None and undelivered(world) == 0
        assert second - limited <= 3, (limited, second)  # was: the next check 15 s later
