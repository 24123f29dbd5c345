"""Slack figures:
1. slash-command round trip (signed HTTP request in, ephemeral answer out) at 1 and 50 concurrent
   requests (Slack's deadline: 3,000 ms);
2. committed change -> chat.postMessage received by Slack: the bot's own overhead over a burst of
   1,000 updates across 50 incidents, with the ~1 msg/s/channel pacing reported apart;
3. RSS of the bot process."""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

from _common import ms, percentile

from bot.clock import SystemClock
from bot.delivery.pacing import Pacer
from bot.engine.events import IncidentObserved, UpdateObserved
from tests.fakes.slack_api import FakeSlack
from tests.slack_world import sign, slack_world

INCIDENTS, UPDATES = 50, 1000


class TimedSlack(FakeSlack):
    """The fake, noting when each post arrives and which outbox row (metadata key) it carries."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.received: dict[str, float] = {}

    async def _handle(self, request):  # type: ignore[no-untyped-def]
        if request.path.endswith("chat.postMessage") and request.content_type == "application/json":
            body = json.loads(await request.text())
            key = ((body.get("metadata") or {}).get("event_payload") or {}).get("key")
            if key:
                self.received.setdefault(key, time.time())
        return await super()._handle(request)


async def round_trips(world, concurrency: int, rounds: int) -> list[float]:  # type: ignore[no-untyped-def]
    payload = world.slack.slash_command("/claude", "status")
    body = urllib.parse.urlencode(payload)
    times: list[float] = []

    async def one() -> None:
        start = time.perf_counter()
        answer = await world.http.post("/slack/events", content=body, headers=sign(body))
        assert answer.status_code == 200, answer.text
        times.append(time.perf_counter() - start)

    for _ in range(rounds):
        await asyncio.gather(*(one() for _ in range(concurrency)))
    return times


async def command_figures(tmp: Path) -> None:
    async with slack_world(tmp) as world:
        await round_trips(world, 1, 20)  # warm up
        for concurrency, rounds in ((1, 300), (50, 10)):
            times = await round_trips(world, concurrency, rounds)
            print(f"slash command round trip, {concurrency:>2} concurrent: p50 {ms(percentile(times, 50))}, "
                  f"p99 {ms(percentile(times, 99))} over {len(times)} requests")


def burst_events() -> list[IncidentObserved]:
    now = datetime.now(UTC)
    per = UPDATES // INCIDENTS
    return [IncidentObserved(service="claude", source="statuspage", upstream_id=f"inc{i}", title=f"Incident {i}",
                             status="investigating", impact="minor", started_at=now,
                             updates=tuple(UpdateObserved(f"inc{i}u{u}", "investigating", f"update {u}", now)
                                           for u in range(n + 1)))
            for i in range(INCIDENTS) for n in range(per)]


async def burst_figures(tmp: Path) -> None:
    async with slack_world(tmp, fake=TimedSlack) as world:
        world.bot.clock = SystemClock()  # real time: this measures wall-clock overhead
        world.bot.engine.clock = world.bot.worker.clock = SystemClock()
        slack = world.slack
        slack.post_rate_per_sec = None
        sink = world.bot.platforms[0].sink  # type: ignore[attr-defined]
        sink.pacer = Pacer(0.0)  # pacing measured apart, below
        committed: dict[str, float] = {}
        drain = asyncio.create_task(world.bot.worker.run())
        start = time.perf_counter()
        for event in burst_events():
            world.bot.engine.apply_incident(event)
        with world.bot.db.session() as session:
            from sqlmodel import select

            from bot.store.models import OutboxMessage

            for row in session.exec(select(OutboxMessage).where(OutboxMessage.action == "update")):
                committed[str(row.id)] = row.created_at.timestamp()
        while len(slack.received) < len(committed) + INCIDENTS:  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - start
        drain.cancel()
        lags = [slack.received[k] - t for k, t in committed.items()]  # type: ignore[attr-defined]
    print(f"burst: {len(committed)} updates across {INCIDENTS} incidents delivered in {elapsed:.1f} s with pacing off")
    print(f"committed change -> chat.postMessage received: p50 {ms(percentile(lags, 50))}, "
          f"p99 {ms(percentile(lags, 99))} (queueing behind the burst included)")
    print(f"pacing at 1 msg/s in one channel would add ~{len(committed) + INCIDENTS} s for this burst")


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if "--burst-only" not in sys.argv:
            await command_figures(Path(tmp) / "a")
        await burst_figures(Path(tmp) / "b")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process (bot + fakes in one process): {rss:.0f} MiB")


if __name__ == "__main__":
    asyncio.run(main())
