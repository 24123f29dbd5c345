"""Slack's `statusbot doctor` checks: the token, its scopes against the manifest, and each channel the
bot posts to. `auth.test` is asked once and shared; a check that needs a working token is skipped while
the token fails."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.chat.slack import manifest
from bot.chat.slack.settings import SlackSettings
from bot.doctor import NOT_CONFIGURED, Check, Doctor, Spec, failed, named, origin, passed, skipped

NEEDS_TOKEN = "needs a working token (see slack token)"
NETWORK = "check SLACK_API_URL and this host's network"
APP_UPDATE = (
    "update the app from `statusbot slack manifest` (api.slack.com/apps → your app → App Manifest), "
    "then reinstall it to the workspace"
)
REVOKED = (
    "the token was revoked (was the app uninstalled?): reinstall the app (api.slack.com/apps → your app "
    "→ Install App) and set SLACK_BOT_TOKEN to the new Bot User OAuth Token"
)
AUTH_FIXES = {
    "invalid_auth": "SLACK_BOT_TOKEN is wrong: copy the Bot User OAuth Token (xoxb-…) from api.slack.com/apps → "
    "your app → OAuth & Permissions",
    "not_authed": "set SLACK_BOT_TOKEN to the Bot User OAuth Token (xoxb-…)",
    "token_revoked": REVOKED,
    "token_expired": REVOKED,
    "account_inactive": REVOKED,
}


def checks(slack: SlackSettings, channels: list[str]) -> list[Spec]:
    """`channels` is empty when Slack is off: one skipped channel line says so."""
    specs = [
        Spec("slack token", partial(check_token, slack=slack), NETWORK),
        Spec("slack scopes", partial(check_scopes, slack=slack), NETWORK),
    ]
    targets: list[str | None] = [*channels] or [None]
    return specs + [
        Spec(
            named("slack channel", c, len(targets)),
            partial(check_channel, slack=slack, channel=c),
            "check the channel id, SLACK_API_URL and this host's network",
        )
        for c in targets
    ]


@dataclass
class SlackAuth:
    response: AsyncSlackResponse | None
    error: str = ""


def _client(doctor: Doctor, slack: SlackSettings) -> AsyncWebClient:
    assert slack.slack_bot_token is not None
    return AsyncWebClient(
        token=slack.slack_bot_token.get_secret_value(),
        base_url=str(slack.slack_api_url),
        timeout=max(1, round(doctor.settings.http_timeout)),
        retry_handlers=[],
    )


def _error(exc: Exception, slack: SlackSettings) -> str:
    if isinstance(exc, SlackApiError):
        data = exc.response.data
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
        return f"HTTP {exc.response.status_code}"
    return f"cannot reach {origin(str(slack.slack_api_url))} ({type(exc).__name__})"


async def _auth(doctor: Doctor, slack: SlackSettings) -> SlackAuth:
    async def auth_test() -> SlackAuth:
        try:
            return SlackAuth(await _client(doctor, slack).auth_test())
        except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
            return SlackAuth(None, _error(exc, slack))

    return await doctor.once("slack auth.test", auth_test)


async def check_token(doctor: Doctor, slack: SlackSettings) -> Check:
    if slack.slack_bot_token is None:
        return skipped(f"{NOT_CONFIGURED} (no SLACK_BOT_TOKEN)")
    auth = await _auth(doctor, slack)
    if auth.response is None:
        fix = AUTH_FIXES.get(auth.error, f"{NETWORK}; Slack may be down (slack-status.com)")
        return failed(f"Slack refuses the bot token ({auth.error})", fix)
    return passed(f"valid: @{auth.response.get('user')} in the workspace {auth.response.get('team')}")


async def check_scopes(doctor: Doctor, slack: SlackSettings) -> Check:
    if slack.slack_bot_token is None:
        return skipped(f"{NOT_CONFIGURED} (no SLACK_BOT_TOKEN)")
    auth = await _auth(doctor, slack)
    if auth.response is None:
        return skipped(NEEDS_TOKEN)
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
        return failed(f"the token lacks {', '.join(missing)}", APP_UPDATE)
    return passed(f"all {len(wanted)} scopes the manifest asks for are granted")


async def check_channel(doctor: Doctor, slack: SlackSettings, channel: str | None) -> Check:
    """Membership needs no scope of its own: conversations.history (channels:history / groups:history, which
    the bot has for crash recovery) answers not_in_channel to a bot outside the channel."""
    if channel is None:
        return skipped(f"{NOT_CONFIGURED} (no SLACK_BOT_TOKEN)")
    auth = await _auth(doctor, slack)
    if auth.response is None:
        return skipped(NEEDS_TOKEN)
    try:
        await _client(doctor, slack).conversations_history(channel=channel, limit=1)
    except (SlackApiError, aiohttp.ClientError, TimeoutError) as exc:
        setting = "SLACK_CHANNEL" if channel == slack.slack_channel else "its slack_channel in the TOML"
        bot = f"@{auth.response.get('user') or 'statusbot'}"
        return _channel_failure(channel, setting, bot, _error(exc, slack))
    return passed(f"the bot is in {channel}")


def _channel_failure(channel: str, setting: str, bot: str, error: str) -> Check:
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
