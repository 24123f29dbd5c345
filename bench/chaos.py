"""The chaos run: a recorded stretch of real incidents replayed through `statusbot run` (its own
process, on one SQLite file) into the loopback Slack and Discord fakes, while both answer 429 and 500
in bursts, drop answers (the post lands, its answer is lost) and Slack holds a post's answer while
the bot is killed; the bot gets `kill -9` at seeded random moments and is restarted on the same
database. At the end every real update is looked for in chat.

    python bench/chaos.py [--kills 24] [--seed 20261202] [--pace 3]

The stretch is the 26 recorded status.claude.com snapshots in ../shared (or STATUSBOT_SHARED_DIR),
served in order by the loopback Statuspage; without them, the demo's hand-written outage. Each
snapshot stays up until the bot has polled it twice. What should be in chat is computed from the
raw JSON (every incident not already resolved at the first poll, each of its updates); what is in
chat is read from the fakes: a Slack message's outbox key is in its metadata, a Discord message's in
its nonce, and the bot's database says which update each key carried (the text must match too).

Prints one line: per chat, threads found, updates in the right thread, duplicates (a second parent,
a second message for one outbox row or for one real update) and lost updates.
"""

# ruff: noqa: E402  (discord must be imported before bench/ is on the path: bench/discord.py)
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != _HERE]
import discord  # noqa: F401  (the library, before bench/discord.py could shadow it)

sys.path.insert(0, _HERE)
sys.path.insert(0, str(Path(_HERE).parent))

from tests.chaos_world import Stretch, chaos, chaos_world, hand_written_stretch, recorded_stretch


async def run(args: argparse.Namespace) -> str:
    stretch: Stretch = recorded_stretch() or hand_written_stretch()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        async with chaos_world(Path(tmp)) as world:
            counts = await chaos(world, stretch, args.kills, args.seed, args.pace)
    took = time.monotonic() - started
    chats = "; ".join(f"{name} {figures}" for name, figures in counts.items())
    return (
        f"chaos: {stretch.describe()}, {world.kills} kill -9 ({world.held} with a post's answer held), "
        f"{world.faults.describe()} in {took:.0f} s: {chats}; "
        f"{world.tracebacks} tracebacks in {world.runs} runs' logs, exit {world.stopped} on SIGTERM"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=24)
    parser.add_argument("--seed", type=int, default=20261202)
    parser.add_argument("--pace", type=float, default=3.0, help="seconds each snapshot stays up, at least")
    print(asyncio.run(run(parser.parse_args())), flush=True)


if __name__ == "__main__":
    main()
