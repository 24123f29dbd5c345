"""A short chaos run (bench/chaos.py runs the long one on the real snapshots): the hand-written
outage through `statusbot run` into Slack and Discord while both answer 429 and 500 in bursts and
drop answers, with kill -9 at seeded moments (one while Slack holds a post's answer): every update
once, in its incident's thread."""

from __future__ import annotations

from pathlib import Path

from tests.chaos_world import chaos, chaos_world, hand_written_stretch


async def test_kill_9_storm_with_bursts_loses_and_repeats_nothing(tmp_path: Path) -> None:
    stretch = hand_written_stretch()
    async with chaos_world(tmp_path) as world:
        counts = await chaos(world, stretch, kill_count=4, seed=7, pace=1.0)
    assert world.kills == 4
    for chat, tally in counts.items():
        assert (tally.duplicates, tally.lost, tally.misplaced) == (0, 0, 0), f"{chat}: {tally}"
        assert tally.threads == tally.incidents and tally.right == tally.updates, f"{chat}: {tally}"
    assert world.stopped == 0 and world.tracebacks == 0, world.logs[-1][-3000:]
