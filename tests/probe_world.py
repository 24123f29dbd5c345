"""A bot with a probe against the loopback Anthropic API, the page fake and a connectivity target,
driven in simulated time: each probe run happens when the detector's own schedule says it would."""

from __future__ import annotations

import io
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select

from bot.app import StatusBot
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock
from bot.config import ProbeSpec, Settings
from bot.demo.scenario import Scenario
from bot.sources.probes import detector
from bot.store.models import Incident, ProbeOutcome
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.statuspage import FakeStatuspage

KEY = "sk-ant-test-key"
START = Scenario.load().start  # the hand-written vendor scenario's incident begins three minutes later
API_COMPONENT = "Claude API (api.anthropic.com)"
CLOSED_PORT_URL = "http://127.0.0.1:9/"  # nothing listens on the discard port: our network is "down"


@dataclass
class ProbeWorld:
    bot: StatusBot
    api: FakeAnthropic
    page: FakeStatuspage
    clock: ManualClock
    out: io.StringIO
    next_run: datetime = START
    outcomes: list[tuple[datetime, ProbeOutcome]] = field(default_factory=list)

    def seconds(self) -> float:
        return (self.clock.now() - START).total_seconds()

    async def run_until(self, seconds: float, name: str = "api") -> None:
        """Run the probe at the times it would run, up to `seconds` of simulated time after START."""
        while self.next_run <= START + timedelta(seconds=seconds):
            await self.step(name)

    async def step(self, name: str = "api") -> ProbeOutcome:
        self.clock.set(self.next_run)
        outcome = await self.bot.probes.run(name)
        self.outcomes.append((self.clock.now(), outcome))
        await self.bot.worker.drain()
        state = self.bot.probes._load(name)
        self.next_run = self.clock.now() + detector.next_delay(state, self.bot.probes.policy)
        return outcome

    async def run_streams_until(self, seconds: float) -> None:
        """Run every stream of every probe at the times its own schedule says, up to `seconds` after START."""
        due = {key: START for key in self.bot.probes.streams}
        while (key := min(due, key=lambda k: due[k])) and due[key] <= START + timedelta(seconds=seconds):
            self.clock.set(due[key])
            self.outcomes.append((self.clock.now(), await self.bot.probes.run(key)))
            await self.bot.worker.drain()
            due[key] = self.clock.now() + detector.next_delay(self.bot.probes._load(key), self.bot.probes.policy)

    async def poll(self) -> None:
        await self.bot.poller.poll()
        await self.bot.worker.drain()

    def incidents(self) -> list[Incident]:
        """Incidents the team was told about (past history imported silently is left out)."""
        with self.bot.db.session() as session:
            return list(
                session.exec(select(Incident).where(Incident.kind == "incident", col(Incident.announced).is_(True)))
            )

    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()


def probe_settings(tmp: Path, api: FakeAnthropic, page: FakeStatuspage, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp / 'probes.db'}",
        "statuspage_url": page.base_url,
        "console": True,
        "http_timeout": 1.0,
        "anthropic_api_key": KEY,
        "anthropic_base_url": api.base_url,
        "connectivity_url": page.base_url + "/generate_204",
        "probe_timeout": 0.3,
        "probes": [ProbeSpec(name="api", kind="anthropic_messages", components=[API_COMPONENT])],
    }
    return Settings(**{**values, **extra})


@asynccontextmanager
async def probe_world(
    tmp: Path, error_rate: float = 0.0, seed: int = 7, model_error_rates: dict[str, float] | None = None, **extra: Any
) -> AsyncIterator[ProbeWorld]:
    clock = ManualClock(START)
    rates = model_error_rates or {}
    async with (
        FakeAnthropic(api_key=KEY, error_rate=error_rate, model_error_rates=rates, rng=random.Random(seed)) as api,
        FakeStatuspage() as page,
    ):
        api.schedule([], clock=lambda: (clock.now() - START).total_seconds())
        out = io.StringIO()
        bot = StatusBot(
            probe_settings(tmp, api, page, **extra),
            clock=clock,
            sinks={"console": ConsoleSink(out, colour=False, folder=tmp / "postmortems")},
        )
        bot.db.upgrade()
        world = ProbeWorld(bot, api, page, clock, out)
        yield world
        await bot.stop()


def outage_windows(world: ProbeWorld, *windows: tuple[float, float, str]) -> None:
    world.api.schedule(list(windows), clock=world.seconds)  # type: ignore[arg-type]
