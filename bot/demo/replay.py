"""`statusbot demo`: replays a hand-written outage through the whole pipeline, offline, at speed.

A loopback page server answers like status.claude.com would have, minute by minute; the real
poller, parser, engine, store, outbox and delivery worker carry it to the console. Time is simulated,
so three hours take a few seconds.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import TextIO

from sqlmodel import select

from bot.app import StatusBot
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock
from bot.config import Settings
from bot.demo.page_server import PageServer
from bot.demo.scenario import Scenario
from bot.engine.events import Actor
from bot.store.models import Incident


class _Timeline:
    def __init__(self, scenario: Scenario, minute: float) -> None:
        self.scenario = scenario
        self.minute = minute

    def documents(self) -> dict[str, object]:
        return self.scenario.documents(self.minute)


async def run_demo(out: TextIO, delay: float = 0.3, colour: bool | None = None) -> None:
    scenario = Scenario.load()
    timeline = _Timeline(scenario, minute=0)
    clock = ManualClock(scenario.at(0))
    with tempfile.TemporaryDirectory(prefix="statusbot-demo-") as tmp:
        async with PageServer(timeline.documents) as page:
            settings = Settings(database_url=f"sqlite:///{Path(tmp) / 'demo.db'}",
                                statuspage_url=page.base_url, console=True)  # type: ignore[arg-type]
            bot = StatusBot(settings, clock=clock, sinks={"console": ConsoleSink(out, colour)})
            bot.db.upgrade()
            out.write(f"Replaying a {scenario.data['incident']['name']!r} outage from a loopback status page"
                      " (simulated time, offline).\n\n")
            await bot.poller.poll()  # first start: yesterday's resolved incident is history, no thread
            for minute in scenario.moments():
                timeline.minute = minute
                clock.set(scenario.at(minute))
                await bot.poller.poll()
                _acknowledge_if_due(bot, scenario, minute)
                await bot.worker.drain()
                await asyncio.sleep(delay)
            await bot.stop()
            out.write("\nThat was the whole pipeline: page → poller → engine → SQLite + outbox → console.\n")


def _acknowledge_if_due(bot: StatusBot, scenario: Scenario, minute: float) -> None:
    ack = scenario.data["acknowledge"]
    if ack["at"] != minute:
        return
    with bot.db.session() as session:
        incident = session.exec(select(Incident).where(
            Incident.upstream_id == scenario.data["incident"]["id"])).one()
    assert incident.id is not None
    bot.engine.acknowledge(incident.id, Actor(name=ack["by"], platform="demo"))
