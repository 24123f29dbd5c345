"""The catch-up after a chat outage: Slack answers HTTP 500 to everything for 5 minutes while real
incidents arrive; how long after Slack's return until the last queued message is posted?

    python bench/catchup.py [--outage 300] [--retry-after 5]

`statusbot run` (its own process) watches the loopback Statuspage, which serves a stretch of the
recorded status.claude.com snapshots (2026-08-12 to 2026-08-16: 6 incidents, 19 updates after the
first; without ../shared, the demo's hand-written outage) spread over the outage. Slack's pacing is
the real one: the bot posts about one message a second per channel and the fake Slack allows one a
second. When Slack is back, its first chat.postMessage is answered 429 with a Retry-After: the wait
until the next post shows whether it is honoured exactly. The outage is real time (a shorter one
would not be the same figure: the per-row backoff this replaced grew with the outage).
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

sys.path.insert(0, str(Path(_HERE).parent))

from tests.chaos_world import ChaosWorld, Stretch, chaos_world, expected_updates, hand_written_stretch, recorded_stretch
from tests.processes import wait_for

SLICE = slice(14, 23)  # 2026-08-12T14:17 .. 2026-08-16T22:14: the first is the baseline


def stretch() -> Stretch:
    recorded = recorded_stretch()
    if recorded is None:
        return hand_written_stretch()
    docs = recorded.documents[SLICE]
    return Stretch("recorded snapshots", docs, expected_updates([d[0] for d in docs]))


class Calls:
    """When each Slack call was answered (sampled every few milliseconds)."""

    def __init__(self, world: ChaosWorld) -> None:
        self.world, self.seen = world, 0
        self.times: list[tuple[float, str, int]] = []

    async def watch(self) -> None:
        while True:
            calls = self.world.slack.calls
            now = time.monotonic()
            self.times += [(now, c.method, c.status) for c in calls[self.seen :]]
            self.seen = len(calls)
            await asyncio.sleep(0.005)

    def after(self, moment: float, method: str, status: int | None = None) -> list[float]:
        return [t for t, m, s in self.times if t >= moment and m == method and (status is None or s == status)]


async def measure(world: ChaosWorld, docs: Stretch, outage: float, retry_after: int) -> str:
    calls = Calls(world)
    watcher = asyncio.create_task(calls.watch())
    world.page.serve(incidents=docs.documents[0][0], summary=docs.documents[0][1])
    world.start()
    polls = lambda: sum(path.endswith("incidents.json") for path, _ in world.page.requests)  # noqa: E731
    await wait_for(lambda: polls() >= 3 and world.undelivered() == set(), "the baseline", 60)
    world.slack.outage(True, status=500)
    down = time.monotonic()
    for incidents, summary in docs.documents[1:]:  # they arrive over the first four fifths of it
        world.page.serve(incidents=incidents, summary=summary)
        await asyncio.sleep(0.8 * outage / (len(docs.documents) - 1))
    await asyncio.sleep(max(0.0, down + outage - time.monotonic()))
    queued = world.undelivered("slack") or set()
    world.slack.ratelimit_next(1, retry_after=retry_after, method="chat.postMessage")
    world.slack.outage(False)
    back = time.monotonic()
    await wait_for(lambda: (left := world.undelivered("slack")) is not None and not queued & left, "the queue", 900)
    last = time.monotonic() - back
    watcher.cancel()
    limited = calls.after(back, "chat.postMessage", 429)
    posts = calls.after(back, "chat.postMessage", 200) + calls.after(back, "chat.update", 200)
    checks = len(calls.after(down, "auth.test")) - len(calls.after(back, "auth.test"))
    waited = min(t for t in calls.after(back, "chat.postMessage") if t > limited[0]) - limited[0] if limited else None
    world.stop()
    honoured = f"{waited:.2f} s" if waited is not None else "no 429 was seen"
    return (
        f"catch-up: Slack answered 500 for {outage:.0f} s while {len(docs.documents) - 1} {docs.name} brought "
        f"{len(docs.expected)} incidents and {sum(len(u) for u in docs.expected.values())} updates; "
        f"{len(queued)} messages queued, {checks} auth.test checks meanwhile; after Slack's return: first post "
        f"{min(posts) - back:.1f} s, last queued message posted {last:.1f} s ({len(posts)} posts and edits at "
        f"Slack's 1 message/s); a Retry-After: {retry_after} on the first post after the return: the next post "
        f"came {honoured} later"
    )


async def run(args: argparse.Namespace) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        async with chaos_world(Path(tmp), slack_rate=1.0, SLACK_POST_INTERVAL="1") as world:
            return await measure(world, stretch(), args.outage, args.retry_after)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--outage", type=float, default=300.0, help="seconds Slack answers 500")
    parser.add_argument("--retry-after", type=int, default=5)
    print(asyncio.run(run(parser.parse_args())), flush=True)


if __name__ == "__main__":
    main()
