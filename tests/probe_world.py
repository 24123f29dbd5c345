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
from bot.store.enums import ProbeOutcome
from bot.store.models import Incident
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
    outcomes: list[tuple[datetime, ProbeOutcome]] = field(default_factory=list)
    lanes: list[tuple[str, str]] = field(default_factory=list)  # (stream, lane) of each outcome

    def seconds(self) -> float:
        return (self.clock.now() - START).total_seconds()

    @property
    def next_run(self) -> datetime:
        """When the runner's schedule runs its next lane."""
        upcoming = self.bot.probes.schedule.next()
        assert upcoming is not None  # nothing runs concurrently here
        return upcoming[1]

    @next_run.setter
    def next_run(self, at: datetime) -> None:
        """Nothing runs before `at` (the probes start late)."""
        due = self.bot.probes.schedule.due
        for slot, when in due.items():
            due[slot] = max(when, at)

    async def run_until(self, seconds: float) -> None:
        """Run every lane of every stream at the times the runner's own schedule says, up to `seconds` of
        simulated time after START."""
        while self.next_run <= START + timedelta(seconds=seconds):
            await self.step()

    run_streams_until = run_until  # the name it had while it ran each stream's main lane only

    async def step(self) -> ProbeOutcome:
        """The lane due first runs, now."""
        upcoming = self.bot.probes.schedule.next()
        assert upcoming is not None
        (key, lane), at = upcoming
        self.clock.set(max(at, self.clock.now()))
        outcome = await self.bot.probes.run(key, lane)
        self.outcomes.append((self.clock.now(), outcome))
        self.lanes.append((key, lane))
        await self.bot.worker.drain()
        return outcome

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
