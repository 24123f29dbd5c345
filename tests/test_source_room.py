"""A kind of status source is one folder and one registry line: a throwaway source from tests/newsource/
is configured from the environment, doctored, documented in the settings table, built and run on the
leader, and opens and resolves an incident through the engine, with nothing else in the bot touched
(the registry line is added here, at run time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiohttp import web
from sqlmodel import select

from bot import config
from bot.app import StatusBot
from bot.chat import registry as platforms
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock
from bot.doctor import plan, run_checks
from bot.readme import settings_table
from bot.sources import registry
from bot.store.models import Incident
from tests.loopback import serving
from tests.newsource.sources import HealthPoller

START = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)


@pytest.fixture
async def endpoint() -> AsyncIterator[tuple[dict[str, bool], str]]:
    state = {"ok": False}

    async def health(request: web.Request) -> web.Response:
        return web.json_response(state)

    app = web.Application()
    app.router.add_get("/health", health)
    async with serving(app) as url:
        yield state, f"{url}/health"


async def test_a_source_from_its_own_folder_is_configured_doctored_documented_and_run(
    endpoint: tuple[dict[str, bool], str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, url = endpoint
    monkeypatch.setattr(registry, "SOURCES", [*registry.SOURCES, "tests.newsource"])  # the one line
    settings_class = config.with_platforms(platforms.PLATFORMS).settings
    monkeypatch.setenv("NEWSOURCE_URL", url)
    settings = settings_class(database_url=f"sqlite:///{tmp_path / 'bot.db'}", host="127.0.0.1", port=0)

    assert "| `NEWSOURCE_URL` | `newsource_url` | (unset) |" in settings_table()
    [check] = await run_checks(settings, checks=[s for s in plan(settings) if s.name == "newsource"])
    assert check.ok, check.line()

    clock = ManualClock(START)
    bot = StatusBot(settings, clock=clock, sinks={"console": ConsoleSink(colour=False, folder=tmp_path)})
    bot.db.upgrade()
    try:
        [poller] = [s for s in bot.sources if isinstance(s, HealthPoller)]
        await bot.start()
        assert bot.scheduler.get_job("newsource") is not None  # started on the leader with the others
        await poller.poll()
        await bot.worker.drain()
        with bot.db.session() as session:
            [incident] = session.exec(select(Incident))
        assert incident.is_open and incident.source == "newsource"
        assert incident.title == "claude: newsource health sees errors", incident.title  # not "alert newsource:…"
        assert bot.health()["newsource"] == {"claude": poller.health().json()}
        state["ok"] = True
        clock.advance(60)
        await poller.poll()
        with bot.db.session() as session:
            assert not session.exec(select(Incident)).one().is_open
    finally:
        await bot.stop()
