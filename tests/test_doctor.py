"""`statusbot doctor` against the loopback fakes: all green, then one failing line per broken piece, each
with the fix it should print. The checks are the real ones, over real sockets to 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from alembic.script import ScriptDirectory
from typer.testing import CliRunner, Result

from bot.chat.slack import manifest
from bot.cli import app
from bot.config import Settings, describe
from bot.doctor import Check, Doctor, Spec, run_checks
from bot.store.db import alembic_config, upgrade
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.discord_api import DEFAULT_SPEC_PATH, FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.fakes.statuspage import FakeStatuspage
from tests.loopback import serving

HAVE_DISCORD = DEFAULT_SPEC_PATH.is_file() or "DISCORD_OPENAPI_SPEC" in os.environ
needs_discord = pytest.mark.skipif(
    not HAVE_DISCORD,
    reason=f"Discord's OpenAPI spec is not at {DEFAULT_SPEC_PATH} (../shared absent): the Discord fake needs it",
)

SLACK_TOKEN, SLACK_CHANNEL = "xoxb-test-token", "C0INCIDENT"
ANTHROPIC_KEY = "sk-ant-test-key"
DISCORD_TOKEN = "test-bot-token"
APP_ID, GUILD_ID, CHANNEL_ID = 1100000000000000001, 1200000000000000001, 1300000000000000001
HOOK_ID, HOOK_TOKEN = "1400000000000000001", "hook-token-that-must-never-print"
MANIFEST_SCOPES: list[str] = manifest.load()["oauth_config"]["scopes"]["bot"]

SUMMARY = {
    "page": {"id": "p"},
    "components": [
        {"id": "c1", "name": "claude.ai", "status": "operational"},
        {"id": "c2", "name": "Claude API (api.anthropic.com)", "status": "operational"},
        {"id": "c3", "name": "Claude Code", "status": "degraded_performance"},
    ],
}
UPDATE = {"id": "u1", "status": "resolved", "body": "Resolved.", "created_at": "2026-04-15T17:43:00Z"}
INCIDENTS = {
    "page": {"id": "p"},
    "incidents": [
        {
            "id": f"i{n}",
            "name": f"Elevated errors {n}",
            "status": "resolved",
            "impact": "minor",
            "created_at": "2026-04-15T14:53:00Z",
            "incident_updates": [UPDATE],
        }
        for n in (1, 2)
    ],
}

HEAD = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting from the developer's shell, .env or statusbot.toml reaches these tests."""
    for row in describe():
        monkeypatch.delenv(row.env, raising=False)
    monkeypatch.delenv("STATUSBOT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@dataclass
class World:
    page: FakeStatuspage
    slack: FakeSlack
    api: FakeAnthropic
    dc: FakeDiscord | None
    values: dict[str, Any]

    def settings(self, **changes: Any) -> Settings:
        """The world's settings; a change to None removes that setting."""
        return Settings(**{k: v for k, v in {**self.values, **changes}.items() if v is not None})

    async def check(self, **changes: Any) -> list[Check]:
        return await run_checks(self.settings(**changes))


async def register_command(dc: FakeDiscord, name: str = "claude") -> None:
    async with httpx.AsyncClient() as http:
        response = await http.put(
            f"{dc.api_base}/applications/{APP_ID}/guilds/{GUILD_ID}/commands",
            json=[{"name": name, "description": "Vendor status", "type": 1}],
            headers={"Authorization": f"Bot {DISCORD_TOKEN}"},
        )
        response.raise_for_status()


@pytest.fixture
async def world(tmp_path: Path, migrated_db: Path) -> AsyncIterator[World]:
    db = tmp_path / "statusbot.db"
    shutil.copy(migrated_db, db)
    async with AsyncExitStack() as stack:
        page = await stack.enter_async_context(FakeStatuspage(INCIDENTS, SUMMARY))
        slack = await stack.enter_async_context(FakeSlack(token=SLACK_TOKEN, scopes=MANIFEST_SCOPES))
        api = await stack.enter_async_context(FakeAnthropic(api_key=ANTHROPIC_KEY))
        values: dict[str, Any] = {
            "database_url": f"sqlite:///{db}",
            "statuspage_url": page.base_url,
            "http_timeout": 2.0,
            "slack_bot_token": SLACK_TOKEN,
            "slack_signing_secret": "test-signing-secret",
            "slack_channel": SLACK_CHANNEL,
            "slack_api_url": slack.base_url,
            "anthropic_api_key": ANTHROPIC_KEY,
            "anthropic_base_url": api.base_url,
        }
        dc = None
        if HAVE_DISCORD:
            dc = await stack.enter_async_context(
                FakeDiscord(token=DISCORD_TOKEN, application_id=APP_ID, guild_id=GUILD_ID, channels={CHANNEL_ID: {}})
            )
            await register_command(dc)
            values |= {
                "discord_bot_token": DISCORD_TOKEN,
                "discord_channel_id": str(CHANNEL_ID),
                "discord_guild_id": str(GUILD_ID),
                "discord_api_url": dc.api_base,
            }
        yield World(page, slack, api, dc, values)


def failures(checks: list[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


# ------------------------------------------------------------------------------------------ all green
async def test_all_green(world: World) -> None:
    checks = await world.check()
    assert failures(checks) == []
    named = by_name(checks)
    assert [c.name for c in checks] == [
        "database",
        "status page",
        "anthropic api",
        "signals",
        "slack token",
        "slack scopes",
        "slack channel",
        "discord token",
        "discord channel",
        "discord commands",
        "discord webhook",
    ]
    assert named["database"].detail.endswith(f"is reachable and migrated (revision {HEAD})")
    assert named["status page"].line() == (
        f"✔ status page: {world.page.base_url} answers and parses (3 components, 2 incidents)"
    )
    assert named["anthropic api"].detail == f"{world.api.base_url} accepts the key (GET /v1/models)"
    assert named["slack token"].detail == "valid: @statusbot in the workspace Fake Workspace"
    assert named["slack scopes"].detail == f"all {len(MANIFEST_SCOPES)} scopes the manifest asks for are granted"
    assert named["slack channel"].line() == f"✔ slack channel: the bot is in {SLACK_CHANNEL}"
    assert named["discord webhook"].skipped
    if world.dc is not None:
        assert named["discord channel"].detail == f"#channel-{CHANNEL_ID} ({CHANNEL_ID}) is visible to the bot"
        assert named["discord commands"].detail == f"/claude is registered in server {GUILD_ID}"
        assert not any(named[n].skipped for n in ("discord token", "discord channel", "discord commands"))
    assert [c.name for c in checks if c.skipped] == ["signals"] + (
        ["discord webhook"] if world.dc else ["discord token", "discord channel", "discord commands", "discord webhook"]
    )


# ------------------------------------------------------------------------- one failure per broken piece
Breaker = Callable[[World], Awaitable[dict[str, Any]]]


def change(**settings: Any) -> Breaker:
    async def breaker(world: World) -> dict[str, Any]:
        return settings

    return breaker


def act(action: Callable[[World], Any]) -> Breaker:
    async def breaker(world: World) -> dict[str, Any]:
        result = action(world)
        if asyncio.iscoroutine(result):
            await result
        return {}

    return breaker


def empty_sqlite(world: World) -> dict[str, Any]:
    path = Path("fresh.db").resolve()
    sqlite3.connect(path).close()
    return {"database_url": f"sqlite:///{path}"}


def older_schema(world: World) -> dict[str, Any]:
    url = f"sqlite:///{Path('old.db').resolve()}"
    upgrade(url, "0003")
    return {"database_url": url}


def db_change(make: Callable[[World], dict[str, Any]]) -> Breaker:
    async def breaker(world: World) -> dict[str, Any]:
        return make(world)

    return breaker


CASES = [
    # (id, breaker, failing check, words in the detail, words in the fix, needs the Discord fake)
    (
        "database not migrated",
        db_change(empty_sqlite),
        "database",
        "has no statusbot schema yet",
        "run `statusbot db upgrade`",
        False,
    ),
    (
        "database file missing",
        change(database_url="sqlite:////nonexistent/dir/statusbot.db"),
        "database",
        "there is no database file at /nonexistent/dir/statusbot.db",
        "statusbot db upgrade",
        False,
    ),
    (
        "database behind",
        db_change(older_schema),
        "database",
        f"at revision 0003, not the newest ({HEAD})",
        "statusbot db upgrade",
        False,
    ),
    ("status page 500", act(lambda w: w.page.fault("500")), "status page", "HTTP 500", "check STATUSPAGE_URL", False),
    ("status page down", act(lambda w: w.page.stop()), "status page", "ConnectError", "check STATUSPAGE_URL", False),
    (
        "status page answers HTML",
        act(lambda w: w.page.fault("html")),
        "status page",
        "not JSON (text/html",
        "check STATUSPAGE_URL",
        False,
    ),
    (
        "not a status page",
        act(lambda w: w.page.serve(summary={"page": {"id": "p"}, "widgets": []})),
        "status page",
        "answers, but not like a Statuspage",
        "an Atlassian Statuspage",
        False,
    ),
    (
        "anthropic bad key",
        change(anthropic_api_key="sk-ant-wrong"),
        "anthropic api",
        "refuses the key (HTTP 401 authentication_error)",
        "set ANTHROPIC_API_KEY to an active key",
        False,
    ),
    (
        "anthropic overloaded",
        act(lambda w: w.api.set_mode("overloaded")),
        "anthropic api",
        "answers HTTP 529 overloaded_error",
        "the API itself is failing",
        False,
    ),
    (
        "slack token revoked",
        act(lambda w: w.slack.revoke_token("token_revoked")),
        "slack token",
        "Slack refuses the bot token (token_revoked)",
        "reinstall the app",
        False,
    ),
    (
        "slack token wrong",
        change(slack_bot_token="xoxb-wrong"),
        "slack token",
        "Slack refuses the bot token (invalid_auth)",
        "copy the Bot User OAuth Token",
        False,
    ),
    (
        "slack scope missing",
        act(lambda w: w.slack.scopes.remove("files:write")),
        "slack scopes",
        "the token lacks files:write",
        "update the app from `statusbot slack manifest`",
        False,
    ),
    (
        "bot not in slack channel",
        act(lambda w: w.slack.set_member(SLACK_CHANNEL, False)),
        "slack channel",
        f"the bot is not in {SLACK_CHANNEL}",
        "type /invite @statusbot in that channel",
        False,
    ),
    (
        "slack channel unknown",
        change(slack_channel="C0NOSUCH"),
        "slack channel",
        "the bot cannot see C0NOSUCH",
        "set SLACK_CHANNEL to the channel's id",
        False,
    ),
    (
        "discord bad token",
        change(discord_bot_token="wrong-token"),
        "discord token",
        "Discord refuses the bot token (HTTP 401 401: Unauthorized (0))",
        "Bot → Reset Token",
        True,
    ),
    (
        "discord channel not visible",
        act(lambda w: w.dc.set_channel_permissions(CHANNEL_ID, can_view=False)),
        "discord channel",
        f"the bot cannot see channel {CHANNEL_ID} (HTTP 403 Missing Access (50001))",
        "give its role View Channel",
        True,
    ),
    (
        "discord channel unknown",
        change(discord_channel_id="1300000000000000099"),
        "discord channel",
        "there is no channel 1300000000000000099 (HTTP 404 Unknown Channel (10003))",
        "Copy Channel ID",
        True,
    ),
    (
        "discord command not registered",
        act(lambda w: w.dc.guild_commands.clear()),
        "discord commands",
        f"/claude is not registered in server {GUILD_ID}",
        "start `statusbot run` once: it registers /claude",
        True,
    ),
    (
        "discord command renamed",
        change(command="/vendor"),
        "discord commands",
        f"/vendor is not registered in server {GUILD_ID}",
        "it registers /vendor",
        True,
    ),
]


@pytest.mark.parametrize(
    ("breaker", "name", "detail", "fix"),
    [pytest.param(b, n, d, f, id=i, marks=[needs_discord] if discord else []) for i, b, n, d, f, discord in CASES],
)
async def test_one_failure_per_broken_piece(world: World, breaker: Breaker, name: str, detail: str, fix: str) -> None:
    checks = await world.check(**await breaker(world))
    [failure] = failures(checks)
    assert failure.name == name, failure.line()
    assert detail in failure.detail and failure.fix is not None and fix in failure.fix, failure.line()
    assert failure.line().startswith(f"✘ {name}: ") and f" — fix: {failure.fix}" in failure.line()


@needs_discord
async def test_global_commands_are_checked_without_a_guild(world: World) -> None:
    checks = by_name(await world.check(discord_guild_id=None))
    assert not checks["discord commands"].ok
    assert checks["discord commands"].detail == "/claude is not registered globally"
    assert "DISCORD_GUILD_ID makes them instant" in (checks["discord commands"].fix or "")


async def test_checks_that_need_a_token_are_skipped_when_it_fails(world: World) -> None:
    world.slack.revoke_token()
    named = by_name(await world.check(discord_bot_token="wrong-token" if world.dc else None))
    for name in ("slack scopes", "slack channel") + (("discord channel", "discord commands") if world.dc else ()):
        assert named[name].ok and named[name].skipped and "needs a working token" in named[name].detail


async def test_each_service_page_and_channel_is_checked(world: World) -> None:
    world.slack.channels["C0OTHER"] = {"name": "other-vendor", "member": False}
    services = [
        {"name": "claude", "statuspage_url": world.page.base_url},
        {"name": "other", "statuspage_url": "http://127.0.0.1:9", "slack_channel": "C0OTHER"},
    ]
    named = by_name(await world.check(services=services))
    assert named["status page claude"].ok and named["slack channel C0INCIDENT"].ok
    assert named["status page other"].detail.startswith("GET http://127.0.0.1:9/api/v2/summary.json: ")
    assert named["slack channel C0OTHER"].line() == (
        "✘ slack channel C0OTHER: the bot is not in C0OTHER — fix: type /invite @statusbot in that channel"
    )
    assert {c.name for c in named.values() if not c.ok} == {"status page other", "slack channel C0OTHER"}


# ------------------------------------------------------------------------------------- not configured
async def test_what_is_not_configured_is_skipped_and_passes(world: World) -> None:
    settings = Settings(database_url=world.values["database_url"], statuspage_url=world.page.base_url)
    checks = await run_checks(settings)
    assert all(c.ok for c in checks)
    assert [c.name for c in checks if not c.skipped] == ["database", "status page"]
    assert by_name(checks)["slack token"].line() == "– slack token: skipped: not configured (no SLACK_BOT_TOKEN)"
    assert by_name(checks)["anthropic api"].detail.startswith("skipped: not configured")


# -------------------------------------------------------------------------------- webhook-only Discord
@asynccontextmanager
async def webhook_api() -> AsyncIterator[str]:
    """GET /webhooks/{id}/{token} as Discord answers it (the Discord fake does not emulate this route)."""

    async def get(request: web.Request) -> web.Response:
        if request.match_info["id"] != HOOK_ID:
            return web.json_response({"message": "Unknown Webhook", "code": 10015}, status=404)
        if request.match_info["token"] != HOOK_TOKEN:
            return web.json_response({"message": "Invalid Webhook Token", "code": 50027}, status=401)
        return web.json_response(
            {"id": HOOK_ID, "type": 1, "channel_id": str(CHANNEL_ID), "name": "statusbot", "token": HOOK_TOKEN}
        )

    server = web.Application()
    server.router.add_get("/api/v10/webhooks/{id}/{token}", get)
    async with serving(server) as url:
        yield f"{url}/api/v10"


async def test_webhook_only_discord(world: World) -> None:
    async with webhook_api() as api_url:
        hook_only = {
            "discord_bot_token": None,
            "discord_channel_id": None,
            "discord_guild_id": None,
            "discord_api_url": api_url,
        }
        good = f"https://discord.com/api/webhooks/{HOOK_ID}/{HOOK_TOKEN}"
        checks = by_name(await world.check(**hook_only, discord_webhook_url=good))
        assert checks["discord webhook"].line() == (
            f"✔ discord webhook: webhook {HOOK_ID} answers (channel {CHANNEL_ID})"
        )
        assert checks["discord token"].detail == "skipped: webhook-only mode (no DISCORD_BOT_TOKEN)"
        bad = await world.check(**hook_only, discord_webhook_url=good.replace(HOOK_TOKEN, "deleted-hook-token"))
    [failure] = failures(bad)
    assert failure.name == "discord webhook"
    assert failure.detail == f"webhook {HOOK_ID} is gone or its URL is wrong (HTTP 401 Invalid Webhook Token (50027))"
    assert "set DISCORD_WEBHOOK_URL" in (failure.fix or "")
    assert "deleted-hook-token" not in failure.line() and HOOK_TOKEN not in "".join(c.line() for c in bad)


# ----------------------------------------------------------------------------------------- the runner
async def test_a_hanging_or_crashing_check_is_one_failed_line(world: World) -> None:
    async def hangs(doctor: Doctor) -> Check:
        await asyncio.sleep(30)
        raise AssertionError("not reached")

    async def crashes(doctor: Doctor) -> Check:
        raise RuntimeError(f"boom with {SLACK_TOKEN}\n  and a second line")

    async def works(doctor: Doctor) -> Check:
        return Check("fine", True, "all good")

    specs = [
        Spec("slow", hangs, "look at the slow thing"),
        Spec("broken", crashes, "look at the broken thing"),
        Spec("fine", works, ""),
    ]
    started = time.monotonic()
    checks = await run_checks(world.settings(), timeout=0.3, checks=specs)
    assert time.monotonic() - started < 2
    assert [c.line() for c in checks] == [
        "✘ slow: no answer within 0.3 s — fix: look at the slow thing",
        "✘ broken: RuntimeError: boom with *** and a second line — fix: look at the broken thing",
        "✔ fine: all good",
    ]


async def test_no_secret_is_ever_printed(world: World) -> None:
    wrong = {"slack_bot_token": "xoxb-wrong-secret-value", "anthropic_api_key": "sk-ant-wrong-secret-value"}
    if world.dc is not None:
        wrong["discord_bot_token"] = "wrong-discord-secret-value"
    checks = await world.check(**wrong)
    text = "\n".join(c.line() for c in checks)
    assert len(failures(checks)) == len(wrong)
    assert not any(secret in text for secret in (*wrong.values(), SLACK_TOKEN, ANTHROPIC_KEY, DISCORD_TOKEN))


# -------------------------------------------------------------------------------------------- the CLI
@pytest.fixture
def keep_logging() -> Iterator[None]:
    """The CLI sets up logging for its process; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def cli_env(world: World, monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    env = {
        "DATABASE_URL": world.values["database_url"],
        "STATUSPAGE_URL": world.page.base_url,
        "STATUSBOT_HTTP_TIMEOUT": "2",
        "SLACK_BOT_TOKEN": SLACK_TOKEN,
        "SLACK_SIGNING_SECRET": "test-secret",
        "SLACK_CHANNEL": SLACK_CHANNEL,
        "SLACK_API_URL": world.slack.base_url,
        "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
        "ANTHROPIC_BASE_URL": world.api.base_url,
        **extra,
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)


async def doctor_cli() -> Result:
    # In a thread: the fakes serve from this test's event loop, and the command runs its own.
    return await asyncio.to_thread(CliRunner().invoke, app, ["doctor"])


async def test_cli_prints_one_line_per_check_and_exits_1_on_a_failure(
    world: World, monkeypatch: pytest.MonkeyPatch, keep_logging: None
) -> None:
    cli_env(world, monkeypatch)
    green = await doctor_cli()
    assert green.exit_code == 0, green.output
    lines = green.output.splitlines()
    assert len(lines) == 11 and all(line[0] in "✔–" for line in lines)
    assert "✔ slack channel: the bot is in C0INCIDENT" in lines

    world.slack.set_member(SLACK_CHANNEL, False)
    red = await doctor_cli()
    assert red.exit_code == 1
    assert [line for line in red.output.splitlines() if line.startswith("✘")] == [
        "✘ slack channel: the bot is not in C0INCIDENT — fix: type /invite @statusbot in that channel"
    ]
    assert SLACK_TOKEN not in red.output and ANTHROPIC_KEY not in red.output


async def test_a_hung_database_does_not_hang_the_command(
    world: World, monkeypatch: pytest.MonkeyPatch, keep_logging: None
) -> None:
    release = threading.Event()

    def hangs(url: str) -> Check:
        release.wait(10)
        return Check("database", True, "too late")

    monkeypatch.setattr("bot.doctor._database", hangs)
    monkeypatch.setattr("bot.doctor.CHECK_TIMEOUT", 0.5)
    cli_env(world, monkeypatch, STATUSBOT_HTTP_TIMEOUT="0.2")
    started = time.monotonic()
    try:
        result = await doctor_cli()
    finally:
        release.set()
    assert time.monotonic() - started < 3
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == (
        "✘ database: no answer within 0.5 s — fix: check DATABASE_URL (and that "
        "the database server is up), then run `statusbot db upgrade`"
    )
