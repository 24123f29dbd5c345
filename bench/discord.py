"""Discord figures:
1. interaction received -> response sent: INTERACTION_CREATE leaving the fake's gateway until the
   interaction's callback reaches the fake's REST API, with `statusbot run` as its own process, at 1 and
   50 concurrent `/claude status` (Discord's deadline: 3,000 ms);
2. committed change -> message request received by Discord: the bot's own overhead over a burst of
   1,000 updates across 50 incidents, and one change at a time. Rate-limit waits are kept apart by
   lifting the fake's limits (so discord.py never waits: every request is checked to be a 200, no 429)
   and estimating what Discord's default limits would add;
3. RSS of that `statusbot run` process, with Slack (FakeSlack) and Discord (FakeDiscord) both on."""

from __future__ import annotations

import sys
from pathlib import Path

# This script is bench/discord.py: with its folder first on sys.path, `import discord` would find this file.
# Its folder goes last instead, where `_common` is still found.
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.append(sys.path.pop(0))

import asyncio
import math
import re
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from _common import INCIDENTS, UPDATES, burst_events, chat_environment, ms, one_at_a_time, percentile, rss_mib
from aiohttp import web

from bot.chat.slack import manifest
from bot.clock import SystemClock
from bot.demo.scenario import Scenario
from tests.discord_world import APP_ID, CHANNEL_ID, GUILD_ID, TOKEN, discord_world
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.fakes.statuspage import FakeStatuspage

CALLBACK = re.compile(r"/interactions/(?P<id>[0-9]+)/[^/]+/callback$")
DISCORD_LIMIT = (5, 5.0)  # Discord's usual per-channel message bucket (the fake's default)


class TimedDiscord(FakeDiscord):
    """The fake, noting when each interaction is answered and when each post (by its nonce) arrives."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sent: dict[int, float] = {}
        self.answered: dict[int, float] = {}
        self.received: dict[str, float] = {}

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        """Note the arrival, before the fake's own checks (schema validation is the fake's cost, not the bot's)."""
        now_perf, now = time.perf_counter(), time.time()
        found = CALLBACK.search(request.path)
        if found:
            self.answered.setdefault(int(found["id"]), now_perf)
        elif request.method == "POST" and request.path.endswith("/messages"):
            nonce = (await request.json()).get("nonce")  # aiohttp keeps the body for the fake to read again
            if nonce:
                self.received.setdefault(str(nonce).rsplit(".", 1)[-1], now)
        return await super()._rest_handler(request)

    async def interact(self, text: str = "status") -> int:
        interaction_id = self._ids.next()
        payload = {
            **self.slash_command_payload("claude", [{"type": 1, "name": text, "options": []}]),
            "id": str(interaction_id),
        }
        self.sent[interaction_id] = time.perf_counter()
        await self.send_interaction(payload, channel_id=CHANNEL_ID)
        return interaction_id


async def round_trips(dc: TimedDiscord, concurrency: int, rounds: int) -> list[float]:
    times: list[float] = []
    for _ in range(rounds):
        ids = await asyncio.gather(*(dc.interact() for _ in range(concurrency)))
        await dc.wait_for(lambda ids=ids: all(i in dc.answered for i in ids), timeout=10)  # type: ignore[misc]
        times += [dc.answered[i] - dc.sent[i] for i in ids]
    return times


async def interaction_figures(tmp: Path) -> None:
    """The bot runs as its own process (`statusbot run`), as in production; load comes from here."""
    docs = Scenario.load().documents(20)
    granted = manifest.load()["oauth_config"]["scopes"]["bot"]
    async with (
        FakeSlack(scopes=granted) as slack,
        FakeStatuspage(docs["/api/v2/incidents.json"], docs["/api/v2/summary.json"]) as page,
        TimedDiscord(
            token=TOKEN, application_id=APP_ID, guild_id=GUILD_ID, channels={CHANNEL_ID: {"name": "incidents"}}
        ) as dc,
    ):
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env=chat_environment(tmp, page, slack, dc),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            started = time.monotonic()
            await dc.wait_for(lambda: dc.connected and dc.commands(GUILD_ID), timeout=30)
            print(f"start-up to /claude registered and the gateway READY: {time.monotonic() - started:.2f} s")
            await asyncio.sleep(1.0)  # first poll and its deliveries
            print(f"RSS of the running bot (Slack and Discord on), after start-up: {rss_mib(proc.pid):.0f} MiB")
            await round_trips(dc, 1, 20)  # warm up
            for concurrency, rounds in ((1, 200), (50, 10)):
                times = await round_trips(dc, concurrency, rounds)
                print(
                    f"interaction received -> response sent, {concurrency:>2} concurrent: p50 "
                    f"{ms(percentile(times, 50))}, p99 {ms(percentile(times, 99))}, max {ms(max(times))} "
                    f"over {len(times)} interactions"
                )
            late = sum(done - dc.sent[i] > 3 for i, done in dc.answered.items())
            print(f"answers later than 3 s: {late}; RSS after the load: {rss_mib(proc.pid):.0f} MiB")
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def committed_times(world: Any) -> dict[str, float]:
    from sqlmodel import select

    from bot.store.models import OutboxMessage

    with world.bot.db.session() as session:
        rows = session.exec(
            select(OutboxMessage).where(OutboxMessage.action == "update", OutboxMessage.sink == "discord")
        ).all()
        return {str(r.id): _epoch(r.created_at) for r in rows}


def _epoch(moment: datetime) -> float:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


async def burst_figures(tmp: Path) -> None:
    unlimited = {"message_rate_limit": (10**9, 1.0), "default_rate_limit": (10**9, 1.0), "global_rate_limit": None}
    tmp.mkdir(parents=True, exist_ok=True)
    async with discord_world(tmp, dc_options=unlimited, fake=TimedDiscord) as world:
        dc: TimedDiscord = world.dc  # type: ignore[assignment]
        world.bot.clock = world.bot.engine.clock = world.bot.worker.clock = SystemClock()  # wall-clock overhead
        drain = asyncio.create_task(world.bot.worker.run())
        start = time.perf_counter()
        for event in burst_events():
            world.bot.engine.apply_incident(event)
        committed = committed_times(world)
        await dc.wait_for(lambda: all(k in dc.received for k in committed), timeout=600)
        elapsed = time.perf_counter() - start
        lags = [dc.received[k] - t for k, t in committed.items()]
        single = await one_at_a_time(world.bot.engine, dc.received)
        drain.cancel()
        statuses = {r.status for r in dc.requests}
    requests = len(dc.requests)
    print(
        f"burst: {len(committed)} updates across {INCIDENTS} incidents delivered in {elapsed:.1f} s "
        f"({requests} requests, statuses {sorted(statuses)}: no 429, so discord.py never waited)"
    )
    print(
        f"committed change -> message request received: p50 {ms(percentile(lags, 50))}, "
        f"p99 {ms(percentile(lags, 99))} (queueing behind the burst included)"
    )
    print(f"per request, sequential: {ms(elapsed / requests)} of bot + fake work")
    limit, window = DISCORD_LIMIT
    per_thread = math.ceil(UPDATES / INCIDENTS / limit) - 1
    print(
        f"at Discord's {limit} messages per {window:g} s per channel, discord.py would wait ~{window:g} s "
        f"{per_thread}x in each thread (sequential delivery): ~{per_thread * window * INCIDENTS:.0f} s for this "
        "burst, apart from the overhead above"
    )
    print(
        f"one change at a time, committed -> received: p50 {ms(percentile(single, 50))}, "
        f"p99 {ms(percentile(single, 99))} over {len(single)} changes"
    )


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if "--burst-only" not in sys.argv:
            await interaction_figures(Path(tmp))
        await burst_figures(Path(tmp) / "b")


if __name__ == "__main__":
    asyncio.run(main())
