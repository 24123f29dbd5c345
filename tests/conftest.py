"""Shared test plumbing: the real recorded data (when ../shared is there), a fresh SQLite file or
PostgreSQL database, a simulated clock, and a bot wired to a loopback status page."""

from __future__ import annotations

import asyncio
import io
import json
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.app import StatusBot
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock
from bot.config import Settings
from tests import postgres
from tests.fakes.shared import SHARED
from tests.fakes.statuspage import FakeStatuspage

FIXTURES = Path(__file__).parent / "fixtures"
SECRET = "s3cret-webhook-path"  # the Statuspage webhook path secret of `served`


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath("fixtures", *parts)
    if not path.exists():
        pytest.skip(f"real recorded data not available ({path} is absent); hand-written fixtures cover the rest")
    return path


def slow_commands(monkeypatch: pytest.MonkeyPatch, platform: object) -> None:
    """Commands on `platform` (the module that dispatches them) outlast the answer budget, as if the
    database were slow, so that the platform must hold the request and answer it later."""
    from bot.chat import deadline
    from bot.commands.dispatch import dispatch

    async def slow_dispatch(*args: Any) -> Any:
        await asyncio.sleep(0.2)
        return await dispatch(*args)

    monkeypatch.setattr(deadline, "BUDGET", 0.05)
    monkeypatch.setattr(platform, "dispatch", slow_dispatch)


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh SQLite file; `STATUSBOT_TEST_STORE=postgresql` runs every test that uses it on a fresh
    PostgreSQL database instead (a whole-suite check of the second engine, for developers)."""
    if os.environ.get("STATUSBOT_TEST_STORE") == "postgresql":
        with postgres.fresh_database() as url:
            yield url
        return
    yield f"sqlite:///{tmp_path / 'statusbot.db'}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of this test's own (see tests/postgres.py): skipped with the reason
    when no server answers, a failure under CI=true."""
    with postgres.fresh_database() as url:
        yield url


@pytest.fixture(scope="module")
def module_pg_url() -> Iterator[str]:
    """One fresh PostgreSQL database shared by a module's tests (for costly set-ups)."""
    with postgres.fresh_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test runs once on a SQLite file and once on a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'statusbot.db'}"
        return
    with postgres.fresh_database() as url:
        yield url


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 4, 15, 13, 0, tzinfo=UTC))


@pytest.fixture
async def page() -> AsyncIterator[FakeStatuspage]:
    async with FakeStatuspage() as server:
        yield server


class Harness:
    """A StatusBot whose console writes to a buffer, driven one poll at a time."""

    def __init__(self, bot: StatusBot, out: io.StringIO) -> None:
        self.bot = bot
        self.out = out

    async def poll(self) -> None:
        await self.bot.poller.poll()
        await self.bot.worker.drain()

    def lines(self) -> list[str]:
        return self.out.getvalue().splitlines()


def seed(url: str) -> None:
    """A migrated database with one open incident (#1), started 13 minutes ago, seen by the CLI's sink."""
    from bot.clock import SystemClock
    from bot.engine.events import IncidentObserved, UpdateObserved
    from bot.engine.incidents import IncidentEngine
    from bot.store.db import Database

    database = Database(url)
    database.upgrade()
    began = SystemClock().now() - timedelta(minutes=13)
    IncidentEngine(database, ["console"], SystemClock()).apply_incident(
        IncidentObserved(
            service="claude",
            source="statuspage",
            upstream_id="abc",
            title="Elevated errors",
            status="investigating",
            impact="major",
            started_at=began,
            updates=(UpdateObserved("u1", "investigating", "Looking into it", began),),
        )
    )
    database.dispose()


def make_settings(db_url: str, page_url: str, **extra: Any) -> Settings:
    return Settings(
        database_url=db_url,
        statuspage_url=page_url,
        console=True,
        poll_interval=30,  # type: ignore[arg-type]
        http_timeout=1.0,
        **{"host": "127.0.0.1", "port": 0, **extra},  # never the default 0.0.0.0:8080 another run may hold
    )


@pytest.fixture
async def harness(db_url: str, page: FakeStatuspage, clock: ManualClock, tmp_path: Path) -> AsyncIterator[Harness]:
    out = io.StringIO()
    bot = StatusBot(
        make_settings(db_url, page.base_url),
        clock=clock,
        sinks={"console": ConsoleSink(out, colour=False, folder=tmp_path / "postmortems")},
    )
    bot.db.upgrade()
    yield Harness(bot, out)
    await bot.stop()


@pytest.fixture
async def served(harness: Harness) -> AsyncIterator[httpx.AsyncClient]:
    harness.bot.settings.webhook_secret = SecretStr(SECRET)
    harness.bot.settings.port = 0
    harness.bot.settings.host = "127.0.0.1"
    await harness.bot.start_http()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{harness.bot.http_port}") as client:
        yield client
