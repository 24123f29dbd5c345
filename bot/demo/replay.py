"""`statusbot demo`: replays a hand-written outage through the whole pipeline, offline, at speed.

A loopback page server answers like status.claude.com would have, minute by minute, and a loopback
API answers our probe with 529s while the outage lasts. The real poller, probe runner, engine, store,
outbox and delivery worker carry it to the console: the probe sees it first, the vendor confirms it,
alice acknowledges, the vendor resolves, and the postmortem draft and its chart land in the current
folder, beside the demo's database (statusbot-demo.db), which is kept for the next commands to try.
Time is simulated, so three hours take a few seconds.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from sqlmodel import col, or_, select

from bot.app import StatusBot
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock
from bot.config import ProbeSpec, Settings
from bot.demo import database as demo_database
from bot.demo.api_server import DemoApi
from bot.demo.page_server import PageServer
from bot.demo.scenario import Scenario
from bot.engine.events import Actor
from bot.sources.probes import detector
from bot.store.models import Incident, OutboxMessage

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


async def run_demo(out: TextIO, delay: float = 0.1, colour: bool | None = None, folder: Path | None = None) -> bool:
    """Replay the outage; True when every step worked. The database is kept in `folder` (default: the
    current one) as statusbot-demo.db, for the next commands to try."""
    story = Scenario.load(leave_open=True)
    last = max(story.moments())
    scenario = story.starting(datetime.now(UTC) - timedelta(minutes=last + 5))
    clock = ManualClock(scenario.at(0))
    timeline = _Timeline(scenario, clock)
    here = (folder or Path.cwd()).absolute()
    database = demo_database.fresh(here)
    async with PageServer(timeline.documents) as page, DemoApi(timeline.api_failing) as api:
        settings = _settings(database, page.base_url, api.base_url)
        bot = StatusBot(settings, clock=clock, sinks={"console": ConsoleSink(out, colour, folder=here)})
        bot.charts.warm()  # the chart worker loads matplotlib on the other core while the outage replays
        try:
            bot.db.upgrade()
            out.write(
                f"Replaying {scenario.data['incident']['name']!r} from a loopback status page and API "
                "(simulated time, offline).\n\n"
            )
            await _replay(bot, scenario, clock, delay)
            failed = _failed_steps(bot)
        finally:
            await bot.stop()
    if failed:
        out.write(f"\nThe demo did not finish: {failed}\n")
        return False
    out.write(_next_steps(database))
    return True


def _failed_steps(bot: StatusBot) -> str | None:
    """Whatever the console could not do (write the draft, ...): the outbox still holds it."""
    with bot.db.session() as session:
        stuck = session.exec(
            select(OutboxMessage).where(or_(col(OutboxMessage.delivered_at).is_(None), col(OutboxMessage.gave_up)))
        ).first()
    if stuck is None:
        return None
    return f"{stuck.action} of incident #{stuck.incident_id}: {stuck.last_error or 'not delivered'}"


def _next_steps(database: Path) -> str:
    shown = database.name if database.parent == Path.cwd().absolute() else str(database)
    return (
        "\nThat was the whole pipeline: page + probe → engine → SQLite + outbox → console.\n"
        f"Its database is kept in {database}. Try, on it:\n"
        f"  statusbot show 2 --db {shown}\n"
        f"  statusbot ack 3 --by you --db {shown}\n"
        f"  statusbot stats --db {shown}\n"
        f"  statusbot postmortem 2 --db {shown}\n"
        f"or set DATABASE_URL=sqlite:///{database} for every command.\n"
    )


def _settings(database: Path, page_url: str, api_url: str) -> Settings:
    return Settings(
        database_url=f"sqlite:///{database}",
        statuspage_url=page_url,
        console=True,
        anthropic_api_key="demo-key",
        anthropic_base_url=api_url,
        connectivity_url=page_url,
        remind_every=0,
        probe_interval=60,  # while all is well; a failure is confirmed after 2 s and 4 s, then re-checked every 30 s
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
