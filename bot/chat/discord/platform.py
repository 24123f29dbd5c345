"""Discord for statusbot: a discord.py client on the gateway (alerts, `/claude`, buttons) when
DISCORD_BOT_TOKEN is set, or webhook-only alerts when only DISCORD_WEBHOOK_URL is.

Nothing is served over HTTP: interactions come over the gateway, so no public URL is needed.
"""

from __future__ import annotations

import asyncio
import logging

import discord
from aiohttp import web

from bot.chat.base import Sink
from bot.chat.discord.buttons import IncidentButton
from bot.chat.discord.client import DiscordConnection, StatusbotClient, point_at
from bot.chat.discord.commands import DiscordCommands, build_group
from bot.chat.discord.render import Calling, calling
from bot.chat.discord.settings import DiscordSettings
from bot.chat.discord.sink import DiscordSink
from bot.chat.discord.webhook import WebhookSink
from bot.chat.routing import Router
from bot.clock import Clock
from bot.commands.context import Services
from bot.commands.responders import Responders
from bot.config import Settings

log = logging.getLogger(__name__)
SETTLE_WAIT = 5.0


class DiscordPlatform:
    name = "discord"
    leader_only = True  # one gateway session per bot token: only the leader holds it

    def __init__(self, settings: Settings, own: DiscordSettings, router: Router | None, clock: Clock) -> None:
        """`router` picks each incident's channel; there is none in webhook-only mode (one channel)."""
        self.settings, self.own = settings, own
        api_url = str(own.discord_api_url).rstrip("/")
        point_at(api_url, own.discord_gateway_url)
        self.connection: DiscordConnection | None = None
        self.commands: DiscordCommands | None = None
        self.sink: Sink
        token, hook = own.discord_bot_token, own.discord_webhook_url
        if token is not None:
            assert own.discord_channel_id is not None and router is not None  # the settings insist on it
            self.connection = DiscordConnection(token.get_secret_value())
            self.sink = DiscordSink(
                self.connection,
                int(own.discord_channel_id),
                clock,
                mentions(own),
                route=lambda incident: int(router.channel(incident)),
            )
            if hook is not None:
                log.info("discord: DISCORD_BOT_TOKEN is set, so DISCORD_WEBHOOK_URL is not used")
        else:
            assert hook is not None  # the room is enabled by a token or a webhook
            self.sink = WebhookSink(hook.get_secret_value(), api_url, clock, mentions=mentions(own))

    @property
    def guild(self) -> discord.Object | None:
        guild_id = self.own.discord_guild_id
        return discord.Object(int(guild_id)) if guild_id else None

    def bind(self, services: Services) -> None:
        if self.connection is None:
            return  # webhook-only: alerts out, nothing comes back
        responders = Responders(self.settings.responder_ids, self.own.discord_responder_role)
        self.commands = DiscordCommands(services, responders)
        self.connection.prepare = self._wire
        self._wire(self.connection.client)

    def _wire(self, client: StatusbotClient) -> None:
        assert self.commands is not None
        settings = self.settings
        client.button_handler = self.commands.on_button
        client.add_dynamic_items(IncidentButton)
        for service in settings.effective_services():  # one /<command> group per watched service
            group = build_group(service.slash.lstrip("/"), service.name, self.commands.runner_for(service.name))
            client.tree.add_command(group, guild=self.guild)
        client.tree.error(self.commands.on_error)
        client.setup_steps.append(lambda: sync_commands(client, self.guild))

    def routes(self) -> list[web.RouteDef]:
        return []

    async def start(self) -> None:
        if self.connection is None:
            log.info("discord: webhook-only mode (alerts, no commands or buttons)")
            return
        await self.connection.start()

    async def stop(self) -> None:
        if self.commands is not None:
            try:
                await asyncio.wait_for(self.commands.settle(), SETTLE_WAIT)
            except TimeoutError:
                log.warning("discord: command work still running at shutdown was dropped")
        if self.connection is not None:
            await self.connection.close()


def mentions(own: DiscordSettings) -> dict[str, Calling]:
    """Reminders ping DISCORD_ONCALL; escalations DISCORD_ESCALATION (else the on-call too)."""
    return {
        "reminder": calling(own.discord_oncall),
        "escalation": calling(own.discord_escalation or own.discord_oncall),
    }


async def sync_commands(client: StatusbotClient, guild: discord.Object | None) -> None:
    """To one server when DISCORD_GUILD_ID is set (at once), else globally (Discord may take a while)."""
    try:
        synced = await client.tree.sync(guild=guild)
    except discord.HTTPException as exc:
        names = ", ".join(c.name for c in client.tree.get_commands(guild=guild))
        hint = " and check DISCORD_GUILD_ID" if guild else ""
        log.error(
            "discord: could not register /%s (%s); invite the bot with the applications.commands scope%s",
            names,
            exc,
            hint,
        )
        return
    log.info(
        "discord: registered %s %s",
        ", ".join(f"/{c.name}" for c in synced),
        f"in server {guild.id}" if guild else "globally",
    )
