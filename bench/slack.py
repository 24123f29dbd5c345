"""Slack figures:
1. slash-command round trip (signed HTTP request in, ephemeral answer out) at 1 and 50 concurrent
   requests (Slack's deadline: 3,000 ms);
2. committed change -> chat.postMessage received by Slack: the bot's own overhead over a burst of
   1,000 updates across 50 incidents, with the ~1 msg/s/channel pacing reported apart;
3. RSS of the bot process."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

import httpx
from _common import INCIDENTS, burst_events, free_port, ms, one_at_a_time, percentile, rss_mib, wait_healthy

from bot.chat.slack import manifest
from bot.clock import SystemClock
from bot.delivery.pacing import Pacer
from bot.demo.scenario import Scenario
from tests.fakes.slack_api import FakeSlack
from tests.fakes.statuspage import FakeStatuspage
from tests.slack_world import CHANNEL, SIGNING_SECRET, sign, slack_world


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


async def round_trips(http: httpx.AsyncClient, slack: FakeSlack, concurrency: int, rounds: int) -> list[float]:
    body = urllib.parse.urlencode(slack.slash_command("/claude", "status"))
    times: list[float] = []

    async def one() -> None:
        start = time.perf_counter()
        answer = await http.post("/slack/events", content=body, headers=sign(body))
        assert answer.status_code == 200, answer.text
        times.append(time.perf_counter() - start)

    for _ in range(rounds):
        await asyncio.gather(*(one() for _ in range(concurrency)))
    return times


async def command_figures(tmp: Path) -> None:
    """The bot runs as its own process (`statusbot run`), as in production; load comes from here."""
    scenario = Scenario.load()
    docs = scenario.documents(20)
    granted = manifest.load()["oauth_config"]["scopes"]["bot"]
    async with (
        FakeSlack(scopes=granted) as slack,
        FakeStatuspage(docs["/api/v2/incidents.json"], docs["/api/v2/summary.json"]) as page,
    ):
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/cmd.db",
            "STATUSPAGE_URL": page.base_url,
            "PORT": str(port),
            "STATUSBOT_HOST": "127.0.0.1",
            "SLACK_BOT_TOKEN": slack.token,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_CHANNEL": CHANNEL,
            "SLACK_API_URL": slack.base_url,
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                await wait_healthy(http)
                await asyncio.sleep(1.0)  # first poll and its deliveries
                await round_trips(http, slack, 1, 20)  # warm up
                for concurrency, rounds in ((1, 300), (50, 10)):
                    times = await round_trips(http, slack, concurrency, rounds)
                    print(
                        f"slash command round trip, {concurrency:>2} concurrent: p50 {ms(percentile(times, 50))},"
                        f" p99 {ms(percentile(times, 99))}, max {ms(max(times))} over {len(times)} requests"
                    )
                print(f"RSS of the running bot (Slack on): {rss_mib(proc.pid):.0f} MiB")
        finally:
            proc.terminate()
            proc.wait(timeout=10)


async def burst_figures(tmp: Path, **settings: Any) -> float:
    """The 1,000-update burst; `settings` may name another database (bench/postgres.py). Returns
    the seconds it took."""
    async with slack_world(tmp, fake=TimedSlack, **settings) as world:
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
        lags = [slack.received[k] - t for k, t in committed.items()]  # type: ignore[attr-defined]
        single = await one_at_a_time(world.bot.engine, slack.received)
        drain.cancel()
    print(f"burst: {len(committed)} updates across {INCIDENTS} incidents delivered in {elapsed:.1f} s with pacing off")
    print(
        f"committed change -> chat.postMessage received: p50 {ms(percentile(lags, 50))}, "
        f"p99 {ms(percentile(lags, 99))} (queueing behind the burst included)"
    )
    print(f"per message, sequential: {ms(elapsed / (len(committed) + INCIDENTS))} of bot + fake work")
    print(f"pacing at 1 msg/s in one channel would add ~{len(committed) + INCIDENTS} s for this burst")
    print(
        f"one change at a time, committed -> received: p50 {ms(percentile(single, 50))}, "
        f"p99 {ms(percentile(single, 99))} over {len(single)} changes"
    )
    return elapsed


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if "--burst-only" not in sys.argv:
            await command_figures(Path(tmp) / "a")
        await burst_figures(Path(tmp) / "b")


if __name__ == "__main__":
    asyncio.run(main())
