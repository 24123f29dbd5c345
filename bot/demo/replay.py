"""`statusbot demo`: replays a hand-written outage through the whole pipeline, offline, at speed.

A loopback page server answers like status.claude.com would have, minute by minute, and a loopback
API answers our probe with 529s while the outage lasts. The real poller, probe runner, engine, store,
outbox and delivery worker carry it to the console: the probe sees it first, the vendor confirms it,
alice acknowledges, the vendor resolves, and the postmortem draft and its chart land in the current
folder. Time is simulated, so three hours take a few seconds.
"""

from __future__ import annotations

import asyncio
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlmodel import select

from bot.app import StatusBot
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock
from bot.config import ProbeSpec, Settings
from bot.demo.api_server import DemoApi
from bot.demo.page_server import PageServer
from bot.demo.scenario import Scenario
from bot.engine.events import Actor
from bot.sources.probes import detector
from bot.store.models import Incident

PROBE = "api"


class _Timeline:
    def __init__(self, scenario: Scenario, clock: ManualClock) -> None:
        self.scenario = scenario
        self.clock = clock

    @property
    def minute(self) -> float:
        return (self.clock.now() - self.scenario.start).total_seconds() / 60

    def documents(self) -> dict[str, object]:
        return self.scenario.documents(self.minute)

    def api_failing(self) -> bool:
        start, end = self.scenario.data["api_outage"]
        return bool(start <= self.minute < end)


async def run_demo(out: TextIO, delay: float = 0.3, colour: bool | None = None, folder: Path | None = None) -> None:
    scenario = Scenario.load()
    clock = ManualClock(scenario.at(0))
    timeline = _Timeline(scenario, clock)
    with tempfile.TemporaryDirectory(prefix="statusbot-demo-") as tmp:
        async with PageServer(timeline.documents) as page, DemoApi(timeline.api_failing) as api:
            settings = _settings(Path(tmp), page.base_url, api.base_url)
            console = ConsoleSink(out, colour, folder=folder or Path.cwd())
            bot = StatusBot(settings, clock=clock, sinks={"console": console})
            bot.db.upgrade()
            out.write(
                f"Replaying {scenario.data['incident']['name']!r} from a loopback status page and API "
                "(simulated time, offline).\n\n"
            )
            await _replay(bot, scenario, clock, delay)
            await bot.stop()
    out.write("\nThat was the whole pipeline: page + probe → engine → SQLite + outbox → console.\n")


def _settings(tmp: Path, page_url: str, api_url: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp / 'demo.db'}",
        statuspage_url=page_url,
        console=True,
        anthropic_api_key="demo-key",
        anthropic_base_url=api_url,
        connectivity_url=page_url,
        remind_every=0,
        probes=[ProbeSpec(name=PROBE, kind="anthropic_messages", components=["Claude API (api.anthropic.com)"])],
    )


async def _replay(bot: StatusBot, scenario: Scenario, clock: ManualClock, delay: float) -> None:
    await bot.poller.poll()  # first start: yesterday's resolved incident is history, no thread
    moments = [scenario.at(m) for m in scenario.moments()]
    end, probe_at = moments[-1] + timedelta(minutes=2), scenario.at(0)
    while clock.now() <= end:
        if clock.now() >= probe_at:
            await bot.probes.run(PROBE)
            probe_at = clock.now() + detector.next_delay(bot.probes._load(PROBE), bot.probes.policy)
        if moments and clock.now() >= moments[0]:
            moments.pop(0)
            await bot.poller.poll()
            _acknowledge_if_due(bot, scenario, clock.now())
        if await bot.worker.drain():
            await asyncio.sleep(delay)
        clock.set(min(probe_at, moments[0] if moments else end + timedelta(seconds=1)))


def _acknowledge_if_due(bot: StatusBot, scenario: Scenario, now: datetime) -> None:
    ack = scenario.data["acknowledge"]
    if scenario.at(ack["at"]) != now:
        return
    with bot.db.session() as session:
        incident = session.exec(select(Incident).where(Incident.probe_name == PROBE)).one()
    assert incident.id is not None
    bot.engine.acknowledge(incident.id, Actor(name=ack["by"], platform="demo"))
