"""Discord's `statusbot doctor` checks: the token, each channel the bot posts to, the slash command,
or the webhook in webhook-only mode. `/users/@me` is asked once and shared; a check that needs a working
token is skipped while the token fails."""

from __future__ import annotations

from functools import partial

import httpx

from bot.chat.discord.room import WEBHOOK
from bot.chat.discord.settings import DiscordSettings
from bot.doctor import NOT_CONFIGURED, Check, Doctor, Spec, failed, named, passed, skipped

NEEDS_TOKEN = "needs a working token (see discord token)"
AGENT = "DiscordBot (https://github.com/statusbot/statusbot, 0.1)"
NETWORK = "check DISCORD_API_URL and this host's network"


def checks(discord: DiscordSettings, channels: list[str]) -> list[Spec]:
    targets: list[str | None] = [*channels] or [None]
    return [
        Spec("discord token", partial(check_token, discord=discord), NETWORK),
        *(
            Spec(
                named("discord channel", c, len(targets)),
                partial(check_channel, discord=discord, channel=c),
                "check the channel id, DISCORD_API_URL and this host's network",
            )
            for c in targets
        ),
        Spec("discord commands", partial(check_commands, discord=discord), NETWORK),
        Spec("discord webhook", partial(check_webhook, discord=discord), NETWORK),
    ]


def _base(discord: DiscordSettings) -> str:
    return str(discord.discord_api_url).rstrip("/")


async def _get(doctor: Doctor, discord: DiscordSettings, path: str) -> httpx.Response:
    token = discord.discord_bot_token
    assert token is not None
    headers = {"Authorization": f"Bot {token.get_secret_value()}", "User-Agent": AGENT}
    return await doctor.get(f"{_base(discord)}{path}", headers=headers)


def _error(response: httpx.Response) -> str:
    try:
        body = response.json()
        return f"HTTP {response.status_code} {body['message']} ({body['code']})"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {response.status_code} {response.reason_phrase}".strip()


async def _me(doctor: Doctor, discord: DiscordSettings) -> httpx.Response:
    return await doctor.once("discord /users/@me", lambda: _get(doctor, discord, "/users/@me"))


def _no_bot(discord: DiscordSettings) -> Check | None:
    if discord.discord_bot_token is not None:
        return None
    if discord.discord_webhook_url is not None:
        return skipped("webhook-only mode (no DISCORD_BOT_TOKEN)")
    return skipped(f"{NOT_CONFIGURED} (no DISCORD_BOT_TOKEN)")


async def check_token(doctor: Doctor, discord: DiscordSettings) -> Check:
    if (skip := _no_bot(discord)) is not None:
        return skip
    me = await _me(doctor, discord)
    if me.status_code == 200:
        return passed(f"valid: the bot is {me.json().get('username')} ({me.json().get('id')})")
    fix = (
        "set DISCORD_BOT_TOKEN to the bot's token (discord.com/developers/applications → your app → Bot → Reset Token)"
        if me.status_code == 401
        else "check DISCORD_API_URL; Discord may be down"
    )
    return failed(f"Discord refuses the bot token ({_error(me)})", fix)


async def check_channel(doctor: Doctor, discord: DiscordSettings, channel: str | None) -> Check:
    if (skip := _no_bot(discord)) is not None:
        return skip
    if (await _me(doctor, discord)).status_code != 200:
        return skipped(NEEDS_TOKEN)
    response = await _get(doctor, discord, f"/channels/{channel}")
    if response.status_code == 200:
        return passed(f"#{response.json().get('name')} ({channel}) is visible to the bot")
    why = _error(response)
    setting = "DISCORD_CHANNEL_ID" if channel == discord.discord_channel_id else "its discord_channel_id"
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


async def check_commands(doctor: Doctor, discord: DiscordSettings) -> Check:
    if (skip := _no_bot(discord)) is not None:
        return skip
    if (await _me(doctor, discord)).status_code != 200:
        return skipped(NEEDS_TOKEN)
    app = await _get(doctor, discord, "/applications/@me")
    if app.status_code != 200:
        return failed(f"reading the bot's application failed ({_error(app)})", "check DISCORD_API_URL")
    guild, name = discord.discord_guild_id, doctor.settings.command.lstrip("/")
    where = f"in server {guild}" if guild else "globally"
    listed = await _get(
        doctor, discord, f"/applications/{app.json()['id']}" + (f"/guilds/{guild}" if guild else "") + "/commands"
    )
    if listed.status_code == 403:
        return failed(
            f"the bot has no access to server {guild} ({_error(listed)})",
            "invite the bot to that server with the bot and applications.commands scopes, or fix DISCORD_GUILD_ID",
        )
    if listed.status_code != 200:
        return failed(f"listing the commands failed ({_error(listed)})", "check DISCORD_GUILD_ID")
    if any(c.get("name") == name and c.get("type", 1) == 1 for c in listed.json()):
        return passed(f"/{name} is registered {where}")
    later = "" if guild else "; global commands can take a while to show, DISCORD_GUILD_ID makes them instant"
    return failed(
        f"/{name} is not registered {where}",
        f"start `statusbot run` once: it registers /{name} when it logs in (the bot needs the "
        f"applications.commands scope){later}",
    )


async def check_webhook(doctor: Doctor, discord: DiscordSettings) -> Check:
    if discord.discord_webhook_url is None:
        return skipped(f"{NOT_CONFIGURED} (no DISCORD_WEBHOOK_URL)")
    if discord.discord_bot_token is not None:
        return skipped("not used: DISCORD_BOT_TOKEN is set, so the bot posts")
    found = WEBHOOK.search(discord.discord_webhook_url.get_secret_value())
    assert found is not None  # the settings insist on …/webhooks/ID/TOKEN
    hook = found["id"]
    response = await doctor.get(f"{_base(discord)}/webhooks/{hook}/{found['token']}", headers={"User-Agent": AGENT})
    if response.status_code == 200:
        return passed(f"webhook {hook} answers (channel {response.json().get('channel_id')})")
    why = _error(response)
    if response.status_code in (401, 403, 404):
        return failed(
            f"webhook {hook} is gone or its URL is wrong ({why})",
            "create a webhook again (channel settings → Integrations → Webhooks → New Webhook → Copy "
            "Webhook URL) and set DISCORD_WEBHOOK_URL to it",
        )
    return failed(f"webhook {hook} answers {why}", "check DISCORD_API_URL; Discord may be down")
