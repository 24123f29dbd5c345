"""`statusbot doctor`: check the whole set-up, one line per check, with a fix for each failure.

`plan` lists the checks the settings call for: the database, each service's status page, the Anthropic
key, Slack (token, scopes, each channel the bot posts to) and Discord (token, each channel, the slash
command, or the webhook in webhook-only mode). Each check is a small coroutine answering a `Check`;
`run_checks` runs them all at once, each under its own time limit, so one hanging service cannot hang
the run, and turns any exception into a failed check with a one-line reason. Checks for what is not
configured are skipped and count as passing. Answers several checks need (Slack's `auth.test`,
Discord's `/users/@me`) are fetched once; a check that needs a working token is skipped while the
token fails, so one broken piece gives one failing line. No secret is ever printed.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import threading
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import httpx
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from bot.chat.slack import manifest
from bot.config import ServiceSpec, Settings
from bot.sources.probes.kinds import ANTHROPIC_VERSION
from bot.sources.signals.health import freshness
from bot.sources.statuspage.client import USER_AGENT, FetchError, StatuspageClient
from bot.sources.statuspage.parse import ParseError, parse_incidents, parse_summary
from bot.store.db import alembic_config, make_engine

CHECK_TIMEOUT = 10.0
NOT_CONFIGURED = "not configured"
NEEDS_SLACK_TOKEN = "needs a working token (see slack token)"
NEEDS_DISCORD_TOKEN = "needs a working token (see discord token)"
DISCORD_AGENT = "DiscordBot (https://github.com/statusbot/statusbot, 0.1)"
WEBHOOK = re.compile(r"/webhooks/(?P<id>[0-9]+)/(?P<token>[^/?#]+)")
T = TypeVar("T")

UPGRADE = "run `statusbot db upgrade`"
PAGE_DOWN = (
    "check STATUSPAGE_URL and this host's network; if both are right, the page itself is failing and "
    "statusbot catches up once it answers"
)
SLACK_APP_UPDATE = (
    "update the app from `statusbot slack manifest` (api.slack.com/apps → your app → App Manifest), "
    "then reinstall it to the workspace"
)
SLACK_REVOKED = (
    "the token was revoked (was the app uninstalled?): reinstall the app (api.slack.com/apps → your app "
    "→ Install App) and set SLACK_BOT_TOKEN to the new Bot User OAuth Token"
)
SLACK_AUTH_FIXES = {
    "invalid_auth": "SLACK_BOT_TOKEN is wrong: copy the Bot User OAuth Token (xoxb-…) from api.slack.com/apps → "
    "your app → OAuth & Permissions",
    "not_authed": "set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…)",
    "token_revoked": SLACK_REVOKED,
    "token_expired": SLACK_REVOKED,
    "account_inactive": SLACK_REVOKED,
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    skipped: bool = False

    def line(self) -> str:
        if self.skipped:
            return f"– {self.name}: {self.detail}"
        if self.ok:
            return f"✔ {self.name}: {self.detail}"
        return f"✘ {self.name}: {self.detail}" + (f" — fix: {self.fix}" if self.fix else "")


# Check functions answer with these; the runner names the answer after the check's Spec.
def passed(detail: str) -> Check:
    return Check("", True, detail)


def failed(detail: str, fix: str) -> Check:
    return Check("", False, detail, fix)


def skipped(why: str) -> Check:
    return Check("", True, f"skipped: {why}", skipped=True)


class Unreachable(Exception):
    """A request got no HTTP answer; the message names the host, never a path (paths can hold tokens)."""


class Doctor:
    """One run: the settings, one HTTP client, and answers several checks share (each fetched once)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.http = httpx.AsyncClient(timeout=settings.http_timeout, headers={"User-Agent": USER_AGENT})
        self._shared: dict[str, asyncio.Task[Any]] = {}

    async def once(self, key: str, make: Callable[[], Awaitable[T]]) -> T:
        if key not in self._shared:
            self._shared[key] = asyncio.ensure_future(make())
        return await asyncio.shield(self._shared[key])  # one check's time-out must not cancel the others'

    async def get(self, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.get(url, **kwargs)
        except httpx.TimeoutException:
            raise Unreachable(f"{_origin(url)} did not answer within {self.settings.http_timeout:g} s") from None
        except httpx.HTTPError as exc:
            raise Unreachable(f"cannot reach {_origin(url)} ({type(exc).__name__})") from None

    async def aclose(self) -> None:
        for task in self._shared.values():
            task.cancel()
        await asyncio.gather(*self._shared.values(), return_exceptions=True)
        await self.http.aclose()


# ------------------------------------------------------------------------------------------- database
async def check_database(doctor: Doctor) -> Check:
    return await _in_daemon_thread(lambda: _database(doctor.settings.database_url))


async def _in_daemon_thread(work: Callable[[], T]) -> T:
    """Not asyncio.to_thread: asyncio.run waits for the default executor at exit, so a database that never
    answers would hang doctor after its check had timed out."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(settles: Callable[[], None]) -> None:
        if not future.done():
            settles()

    def run() -> None:
        try:
            result = work()
            outcome = partial(future.set_result, result)
        except Exception as exc:
            outcome = partial(future.set_exception, exc)
        with contextlib.suppress(RuntimeError):  # the loop has closed: nobody waits any more
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name="doctor-database", daemon=True).start()
    return await future


def _database(url: str) -> Check:
    try:
        parsed = make_url(url)
    except ArgumentError:  # its message would quote the URL, password and all
        return failed("DATABASE_URL is not a database URL", "set it to sqlite:///PATH or postgresql://…")
    shown = parsed.render_as_string(hide_password=True)
    file = parsed.database if parsed.get_backend_name() == "sqlite" else None
    if file not in (None, "", ":memory:") and not Path(str(file)).expanduser().is_file():
        return failed(f"there is no database file at {file}", UPGRADE)  # and connecting would create one
    scripts = ScriptDirectory.from_config(alembic_config(url))
    head, current = scripts.get_current_head(), _revision(url)
    if current == head:
        return passed(f"{shown} is reachable and migrated (revision {head})")
    if current is None:
        return failed(f"{shown} has no statusbot schema yet", UPGRADE)
    if current not in {script.revision for script in scripts.walk_revisions()}:
        return failed(
            f"{shown} is at revision {current}, which this statusbot does not know",
            "upgrade statusbot to the version that wrote it, or point DATABASE_URL at the right database",
        )
    return failed(f"{shown} is at revision {current}, not the newest ({head})", UPGRADE)


def _revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


# -------------------------------------------------------------------------------------------- signals
async def check_signals(doctor: Doctor) -> Check:
    """With a signal token set, signals should arrive: none for a while means a reporter is misconfigured."""
    settings = doctor.settings
    if not settings.signal_tokens():
        return skipped(f"{NOT_CONFIGURED} (no STATUSBOT_SIGNALS_TOKEN)")
    stale = timedelta(minutes=settings.signals_stale_minutes)
    found = await _in_daemon_thread(lambda: freshness(settings.database_url, datetime.now(UTC), stale))
    return passed(found.detail) if found.ok else failed(found.detail, found.fix or "")


# ---------------------------------------------------------------------------------------- status page
async def check_status_page(doctor: Doctor, service: ServiceSpec) -> Check:
    base = service.page_base
    client = StatuspageClient(base, doctor.settings.http_timeout)
    try:
        summary, _ = await client.fetch("/api/v2/summary.json")
        incidents, _ = await client.fetch("/api/v2/incidents.json")
    except FetchError as exc:
        return failed(str(exc), PAGE_DOWN)
    finally:
        await client.aclose()
    try:
        components = parse_summary(summary.body, service.name).components
        found = parse_incidents(incidents.body, service.name)
    except ParseError as exc:
        return failed(
            f"{base} answers, but not like a Statuspage: {exc}",
            "set STATUSPAGE_URL to the base URL of an Atlassian Statuspage (its JSON API is under /api/v2/)",
        )
    return passed(f"{base} answers and parses ({len(components)} components, {len(found)} incidents)")


# ---------------------------------------------------------------------------------------- Anthropic
async def check_anthropic(doctor: Doctor) -> Check:
    key = doctor.settings.anthropic_api_key
    if key is None:
        return skipped(f"{NOT_CONFIGURED} (no ANTHROPIC_API_KEY: the Anthropic probes are off)")
    base = str(doctor.settings.anthropic_base_url).rstrip("/")
    headers = {"x-api-key": key.get_secret_value(), "anthropic-version": ANTHROPIC_VERSION}
    response = await doctor.get(f"{base}/v1/models", params={"limit": 1}, headers=headers)
    status, why = response.status_code, _anthropic_error(response)
    if status == 200:
        return passed(f"{base} accepts the key (GET /v1/models)")
    if status == 429:
        return passed(f"{base} accepts the key, but is rate-limiting it right now ({why})")
    if status == 401:
        return failed(
            f"{base} refuses the key ({why})",
            "set ANTHROPIC_API_KEY to an active key from console.anthropic.com → Settings → API keys",
        )
    if status == 403:
        return failed(
            f"the key may not use the API ({why})",
            "use a key of a workspace with API access (console.anthropic.com → Settings → API keys)",
        )
    if status == 404:
        return failed(
            f"there is no Anthropic API at {base} ({why})",
            "check ANTHROPIC_BASE_URL (default https://api.anthropic.com)",
        )
    return failed(
        f"{base} answers {why}", "the API itself is failing: try again later (statusbot's probes report such outages)"
    )


def _anthropic_error(response: httpx.Response) -> str:
    try:
        kind = response.json()["error"]["type"]
    except (ValueError, KeyError, TypeError):
        kind = response.reason_phrase
    return f"HTTP {response.status_code} {kind}".strip()


# -------------------------------------------------------------------------------------------- Slack
@dataclass
class SlackAuth:
    response: AsyncSlackResponse | None
    error: str = ""


def _slack_client(settings: Settings) -> AsyncWebClient:
    assert settings.slack_bot_token is not None
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(),
        base_url=str(settings.slack_api_url),
        timeout=max(1, round(settings.http_timeout)),
        retry_handlers=[],
    )


def _slack_error(exc: Exception, settings: Settings) -> str:
    if isinstance(exc, SlackApiError):
        data = exc.response.data
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
        return f"HTTP {exc.response.status_code}"
    return f"cannot reach {_origin(str(settings.slack_api_url))} ({type(exc).__name__})"


async def _slack_auth(doctor: Doctor) -> SlackAuth:
    async def auth_test() -> SlackAuth:
        try:
            return SlackAuth(await _slack_client(doctor.settings).auth_test())
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            return SlackAuth(None, _slack_error(exc, doctor.settings))

    return await doctor.once("slack auth.test", auth_test)


async def check_slack_token(doctor: Doctor) -> Check:
    if not doctor.settings.slack_enabled:
        return skipped(f"{NOT_CONFIGURED} (no SLACK_BOT_TOKEN)")
    auth = await _slack_auth(doctor)
    if auth.response is None:
        fix = SLACK_AUTH_FIXES.get(
            auth.error, "check SLACK_API_URL and this host's network; Slack may be down (slack-status.com)"
        )
        return failed(f"Slack refuses the bot token ({auth.error})", fix)
    return passed(f"valid: @{auth.response.get('user')} in the workspace {auth.response.get('team')}")


async def check_slack_scopes(doctor: Doctor) -> Check:
    if not doctor.settings.slack_enabled:
        return skipped(f"{NOT_CONFIGURED} (no SLACK_BOT_TOKEN)")
    auth = await _slack_auth(doctor)
    if auth.response is None:
        return skipped(NEEDS_SLACK_TOKEN)
    header = {k.lower(): v for k, v in auth.response.headers.items()}.get("x-oauth-scopes")
    if header is None:
        return failed(
            "Slack did not say which scopes the token has (no x-oauth-scopes header)",
            "point SLACK_API_URL at Slack's Web API (https://slack.com/api) or a proxy that keeps headers",
        )
    granted = {scope.strip() for scope in header.split(",")}
    wanted: list[str] = manifest.load()["oauth_config"]["scopes"]["bot"]
    missing = [scope for scope in wanted if scope not in granted]
    if missing:
        return failed(f"the token lacks {', '.join(missing)}", SLACK_APP_UPDATE)
    return passed(f"all {len(wanted)} scopes the manifest asks for are granted")


async def check_slack_channel(doctor: Doctor, channel: str | None) -> Check:
    """Membership needs no scope of its own: conversations.history (channels:history / groups:history, which
    the bot has for crash recovery) answers not_in_channel to a bot outside the channel."""
    if channel is None:
        return skipped(f"{NOT_CONFIGURED} (no SLACK_BOT_TOKEN)")
    auth = await _slack_auth(doctor)
    if auth.response is None:
        return skipped(NEEDS_SLACK_TOKEN)
    try:
        await _slack_client(doctor.settings).conversations_history(channel=channel, limit=1)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        setting = "SLACK_CHANNEL" if channel == doctor.settings.slack_channel else "its slack_channel in the TOML"
        return _slack_channel_failure(
            channel, setting, f"@{auth.response.get('user') or 'statusbot'}", _slack_error(exc, doctor.settings)
        )
    return passed(f"the bot is in {channel}")


def _slack_channel_failure(channel: str, setting: str, bot: str, error: str) -> Check:
    if error == "not_in_channel":
        return failed(f"the bot is not in {channel}", f"type /invite {bot} in that channel")
    if error == "channel_not_found":
        return failed(
            f"the bot cannot see {channel} (a wrong id, or a private channel it is not in)",
            f"set {setting} to the channel's id (C…, at the bottom of its details) and /invite {bot} there",
        )
    if error == "missing_scope":
        return skipped("needs the channels:history and groups:history scopes (see slack scopes)")
    return failed(f"reading {channel} failed ({error})", f"check {setting} and SLACK_API_URL")


# ------------------------------------------------------------------------------------------ Discord
def _discord_base(settings: Settings) -> str:
    return str(settings.discord_api_url).rstrip("/")


async def _discord_get(doctor: Doctor, path: str) -> httpx.Response:
    token = doctor.settings.discord_bot_token
    assert token is not None
    headers = {"Authorization": f"Bot {token.get_secret_value()}", "User-Agent": DISCORD_AGENT}
    return await doctor.get(f"{_discord_base(doctor.settings)}{path}", headers=headers)


def _discord_error(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"HTTP {response.status_code} {body['message']} ({body['code']})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()


async def _discord_me(doctor: Doctor) -> httpx.Response:
    return await doctor.once("discord /users/@me", lambda: _discord_get(doctor, "/users/@me"))


def _no_discord_bot(settings: Settings) -> Check | None:
    if settings.discord_bot_token is not None:
        return None
    if settings.discord_webhook_url is not None:
        return skipped("webhook-only mode (no DISCORD_BOT_TOKEN)")
    return skipped(f"{NOT_CONFIGURED} (no DISCORD_BOT_TOKEN)")


async def check_discord_token(doctor: Doctor) -> Check:
    if (skip := _no_discord_bot(doctor.settings)) is not None:
        return skip
    me = await _discord_me(doctor)
    if me.status_code == 200:
        return passed(f"valid: the bot is {me.json().get('username')} ({me.json().get('id')})")
    fix = (
        "set DISCORD_BOT_TOKEN to the bot's token (discord.com/developers/applications → your app → Bot → Reset Token)"
        if me.status_code == 401
        else "check DISCORD_API_URL; Discord may be down"
    )
    return failed(f"Discord refuses the bot token ({_discord_error(me)})", fix)


async def check_discord_channel(doctor: Doctor, channel: str | None) -> Check:
    if (skip := _no_discord_bot(doctor.settings)) is not None:
        return skip
    if (await _discord_me(doctor)).status_code != 200:
        return skipped(NEEDS_DISCORD_TOKEN)
    response = await _discord_get(doctor, f"/channels/{channel}")
    if response.status_code == 200:
        return passed(f"#{response.json().get('name')} ({channel}) is visible to the bot")
    why = _discord_error(response)
    setting = "DISCORD_CHANNEL_ID" if channel == doctor.settings.discord_channel_id else "its discord_channel_id"
    if response.status_code == 404:
        return failed(
            f"there is no channel {channel} ({why})",
            f"set {setting} to the channel's id (turn on Developer "
            "Mode, then right-click the channel → Copy Channel ID)",
        )
    if response.status_code == 403:
        return failed(
            f"the bot cannot see channel {channel} ({why})",
            "invite the bot to that server, and give its role View Channel, Send Messages, Create Public "
            "Threads and Send Messages in Threads in that channel",
        )
    return failed(f"reading channel {channel} failed ({why})", f"check {setting} and DISCORD_API_URL")


async def check_discord_commands(doctor: Doctor) -> Check:
    settings = doctor.settings
    if (skip := _no_discord_bot(settings)) is not None:
        return skip
    if (await _discord_me(doctor)).status_code != 200:
        return skipped(NEEDS_DISCORD_TOKEN)
    app = await _discord_get(doctor, "/applications/@me")
    if app.status_code != 200:
        return failed(f"reading the bot's application failed ({_discord_error(app)})", "check DISCORD_API_URL")
    guild, name = settings.discord_guild_id, settings.command.lstrip("/")
    where = f"in server {guild}" if guild else "globally"
    listed = await _discord_get(
        doctor, f"/applications/{app.json()['id']}" + (f"/guilds/{guild}" if guild else "") + "/commands"
    )
    if listed.status_code == 403:
        return failed(
            f"the bot has no access to server {guild} ({_discord_error(listed)})",
            "invite the bot to that server with the bot and applications.commands scopes, or fix DISCORD_GUILD_ID",
        )
    if listed.status_code != 200:
        return failed(f"listing the commands failed ({_discord_error(listed)})", "check DISCORD_GUILD_ID")
    if any(c.get("name") == name and c.get("type", 1) == 1 for c in listed.json()):
        return passed(f"/{name} is registered {where}")
    later = "" if guild else "; global commands can take a while to show, DISCORD_GUILD_ID makes them instant"
    return failed(
        f"/{name} is not registered {where}",
        f"start `statusbot run` once: it registers /{name} when it logs in (the bot needs the "
        f"applications.commands scope){later}",
    )


async def check_discord_webhook(doctor: Doctor) -> Check:
    settings = doctor.settings
    if settings.discord_webhook_url is None:
        return skipped(f"{NOT_CONFIGURED} (no DISCORD_WEBHOOK_URL)")
    if settings.discord_bot_token is not None:
        return skipped("not used: DISCORD_BOT_TOKEN is set, so the bot posts")
    found = WEBHOOK.search(settings.discord_webhook_url.get_secret_value())
    assert found is not None  # Settings insists on …/webhooks/ID/TOKEN
    hook = found["id"]
    response = await doctor.get(
        f"{_discord_base(settings)}/webhooks/{hook}/{found['token']}", headers={"User-Agent": DISCORD_AGENT}
    )
    if response.status_code == 200:
        return passed(f"webhook {hook} answers (channel {response.json().get('channel_id')})")
    why = _discord_error(response)
    if response.status_code in (401, 403, 404):
        return failed(
            f"webhook {hook} is gone or its URL is wrong ({why})",
            "create a webhook again (channel settings → Integrations → Webhooks → New Webhook → Copy "
            "Webhook URL) and set DISCORD_WEBHOOK_URL to it",
        )
    return failed(f"webhook {hook} answers {why}", "check DISCORD_API_URL; Discord may be down")


# --------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class Spec:
    name: str
    run: Callable[[Doctor], Awaitable[Check]]
    fix: str  # what to look at when the check cannot finish (no answer, an unexpected error)


def plan(settings: Settings) -> list[Spec]:
    """The checks these settings call for, in the order they are printed."""
    services = settings.effective_services()
    specs = [
        Spec("database", check_database, f"check DATABASE_URL (and that the database server is up), then {UPGRADE}")
    ]
    specs += [
        Spec(_named("status page", s.name, len(services)), partial(check_status_page, service=s), PAGE_DOWN)
        for s in services
    ]
    specs += [
        Spec("anthropic api", check_anthropic, "check ANTHROPIC_BASE_URL and this host's network"),
        Spec("signals", check_signals, "check DATABASE_URL"),
        Spec("slack token", check_slack_token, "check SLACK_API_URL and this host's network"),
        Spec("slack scopes", check_slack_scopes, "check SLACK_API_URL and this host's network"),
    ]
    slack = (
        _channels(settings.slack_channel, [(s.slack_channel, [r.slack_channel for r in s.routes]) for s in services])
        if settings.slack_enabled
        else [None]
    )
    specs += [
        Spec(
            _named("slack channel", c, len(slack)),
            partial(check_slack_channel, channel=c),
            "check the channel id, SLACK_API_URL and this host's network",
        )
        for c in slack
    ]
    specs.append(Spec("discord token", check_discord_token, "check DISCORD_API_URL and this host's network"))
    discord: list[str | None] = [
        *_channels(
            settings.discord_channel_id,
            [(s.discord_channel_id, [r.discord_channel_id for r in s.routes]) for s in services],
        )
    ] or [None]
    specs += [
        Spec(
            _named("discord channel", c, len(discord)),
            partial(check_discord_channel, channel=c),
            "check the channel id, DISCORD_API_URL and this host's network",
        )
        for c in discord
    ]
    return [
        *specs,
        Spec("discord commands", check_discord_commands, "check DISCORD_API_URL and this host's network"),
        Spec("discord webhook", check_discord_webhook, "check DISCORD_API_URL and this host's network"),
    ]


def _channels(default: str | None, per_service: list[tuple[str | None, list[str | None]]]) -> list[str]:
    """Every channel the bot may post to: the default, each service's own and its routes', once each."""
    found = [default, *(c for own, routes in per_service for c in (own, *routes))]
    return list(dict.fromkeys(c for c in found if c))


def _named(check: str, target: str | None, count: int) -> str:
    return f"{check} {target}" if count > 1 and target else check


# ------------------------------------------------------------------------------------------- runner
async def run_checks(
    settings: Settings, timeout: float | None = None, checks: Iterable[Spec] | None = None
) -> list[Check]:
    """Every check of `plan(settings)`, in order. Each gets `timeout` seconds (default 10 s, or two HTTP
    time-outs if that is longer)."""
    limit = timeout if timeout is not None else max(CHECK_TIMEOUT, 2 * settings.http_timeout)
    doctor = Doctor(settings)
    try:
        results = await asyncio.gather(
            *(_run_one(spec, doctor, limit) for spec in (plan(settings) if checks is None else checks))
        )
    finally:
        await doctor.aclose()
    redact = _redactor(settings)
    return [replace(c, detail=redact(c.detail), fix=c.fix and redact(c.fix)) for c in results]


async def _run_one(spec: Spec, doctor: Doctor, limit: float) -> Check:
    try:
        return replace(await asyncio.wait_for(spec.run(doctor), limit), name=spec.name)
    except TimeoutError:
        return Check(spec.name, False, f"no answer within {limit:g} s", spec.fix)
    except Exception as exc:  # a check reports, it never raises: one line, no traceback
        return Check(spec.name, False, _one_line(exc), spec.fix)


def _one_line(exc: Exception, limit: int = 200) -> str:
    text = " ".join(str(exc).split())
    text = text if isinstance(exc, Unreachable) else f"{type(exc).__name__}: {text}".rstrip(": ")
    return text[:limit] + ("…" if len(text) > limit else "")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")


def _redactor(settings: Settings) -> Callable[[str], str]:
    """Blank out every secret the settings hold, wherever a message might have picked one up."""
    values = [
        s.get_secret_value()
        for s in (
            settings.slack_bot_token,
            settings.slack_app_token,
            settings.slack_signing_secret,
            settings.discord_bot_token,
            settings.anthropic_api_key,
            settings.webhook_secret,
            settings.discord_webhook_url,
        )
        if s is not None
    ]
    hook = WEBHOOK.search(settings.discord_webhook_url.get_secret_value()) if settings.discord_webhook_url else None
    values += [hook["token"]] if hook else []
    values += [password] if (password := _db_password(settings.database_url)) else []
    secrets = sorted({v for v in values if len(v) >= 4}, key=len, reverse=True)

    def redact(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***")
        return text

    return redact


def _db_password(url: str) -> str | None:
    try:
        return make_url(url).password
    except ArgumentError:  # the database check says so
        return None
