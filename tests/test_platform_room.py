"""A platform is one folder and one registry line: a throwaway platform from tests/teams/ is
configured from the environment and statusbot.toml, routed, doctored and delivered to, with nothing
else in the bot touched (the registry line is added here, at run time)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from pydantic import ValidationError

from bot import config
from bot.app import StatusBot, sink_names
from bot.chat import registry
from bot.chat.room import configured
from bot.clock import ManualClock
from bot.doctor import plan, run_checks
from bot.readme import settings_table
from tests.fakes.statuspage import FakeStatuspage
from tests.loopback import serving
from tests.test_operating import incident_doc

TOKEN = "teams-relay-token-1"
START = datetime(2026, 6, 2, 14, 0, tzinfo=UTC)
TOML = """
[[services]]
name = "claude"
statuspage_url = "{page}"
teams_channel = "19:general@thread"

[[services.routes]]
impact = ["critical"]
teams_channel = "19:oncall@thread"
"""


class Relay:
    """A loopback stand-in for the platform's API: bearer token required, messages recorded."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return web.json_response({"error": "unauthorized"}, status=401)
        if request.method == "GET":
            return web.json_response({"ok": True})
        self.messages.append(await request.json())
        return web.json_response({"id": f"m{len(self.messages)}"})


@pytest.fixture
async def relay() -> AsyncIterator[tuple[Relay, str]]:
    fake = Relay()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    async with serving(app) as url:
        yield fake, f"{url}/"


async def test_a_platform_from_its_own_folder_is_configured_routed_doctored_and_delivered_to(
    relay: tuple[Relay, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, url = relay
    monkeypatch.setattr(registry, "PLATFORMS", [*registry.PLATFORMS, "tests.teams"])  # the one line
    settings_class = config.with_platforms(registry.PLATFORMS).settings
    async with FakeStatuspage() as page:
        (tmp_path / "statusbot.toml").write_text(TOML.format(page=page.base_url))
        monkeypatch.setenv("STATUSBOT_CONFIG", str(tmp_path / "statusbot.toml"))
        monkeypatch.setenv("TEAMS_URL", url)
        monkeypatch.setenv("TEAMS_CHANNEL", "19:fallback@thread")
        with pytest.raises(ValidationError, match="TEAMS_CHANNEL: is required with TEAMS_URL"):
            settings_class(database_url=f"sqlite:///{tmp_path / 'bot.db'}")  # its own checks run: no token
        monkeypatch.setenv("TEAMS_TOKEN", TOKEN)
        settings = settings_class(database_url=f"sqlite:///{tmp_path / 'bot.db'}")

        # configured: it is a sink of its own, and the console gives way to a configured chat
        assert [room.name for room in configured(settings)] == ["teams"]
        assert sink_names(settings) == ["teams"]
        assert "| `TEAMS_URL` | `teams_url` | (unset) |" in settings_table()
        assert "| `TEAMS_TOKEN` | — | (unset) |" in settings_table()

        # doctored: its check is planned and runs; its secret is blanked out of what the doctor prints
        [check] = await run_checks(settings, checks=[s for s in plan(settings) if s.name == "teams relay"])
        assert check.ok, check.line()
        monkeypatch.setenv("TEAMS_TOKEN", "teams-wrong-token")
        [bad] = await run_checks(
            settings_class(), checks=[s for s in plan(settings_class()) if s.name == "teams relay"]
        )
        assert not bad.ok and "teams-wrong-token" not in bad.line() and "***" in bad.line()

        # routed and delivered: a critical incident goes to the route's channel, a minor one to the service's
        page.serve(
            incidents={
                "page": {"id": "p"},
                "incidents": [
                    incident_doc(1, "investigating", START, impact="critical"),
                    incident_doc(2, "investigating", START, impact="minor"),
                ],
            }
        )
        bot = StatusBot(settings, clock=ManualClock(START))
        bot.db.upgrade()
        try:
            await bot.poller.poll()
            await bot.worker.drain()
        finally:
            await bot.stop()
    parents = {m["text"]: m["channel"] for m in fake.messages if "reply_to" not in m}
    assert parents == {"#1 Problem 1": "19:oncall@thread", "#2 Problem 2": "19:general@thread"}
    replies = [m for m in fake.messages if "reply_to" in m]
    assert {m["channel"] for m in replies} == {"19:oncall@thread", "19:general@thread"}
