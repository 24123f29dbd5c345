"""Discord's room: what the core knows of Discord (see bot/chat/room.py)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from bot.chat.discord.settings import DiscordChannels, DiscordSettings
from bot.chat.room import Room
from bot.clock import Clock
from bot.config import Settings

if TYPE_CHECKING:
    from bot.chat.platform import ChatPlatform
    from bot.doctor import Spec

WEBHOOK = re.compile(r"/webhooks/(?P<id>[0-9]+)/(?P<token>[^/?#]+)")


class DiscordRoom(Room[DiscordSettings]):
    name = "discord"
    settings = DiscordSettings
    channels = DiscordChannels
    loggers = ("discord",)

    def enabled(self, settings: DiscordSettings) -> bool:
        return settings.discord_bot_token is not None or settings.discord_webhook_url is not None

    def build(self, settings: Settings, clock: Clock) -> ChatPlatform:
        from bot.chat.discord.platform import DiscordPlatform

        own = self.own(settings)
        return DiscordPlatform(settings, own, self.router(settings) if own.discord_bot_token else None, clock)

    def checks(self, settings: Settings, channels: list[str]) -> list[Spec]:
        from bot.chat.discord.doctor import checks

        return checks(self.own(settings), channels)

    def secrets(self, settings: DiscordSettings) -> list[str]:
        """The webhook URL's token, which a message may show without the rest of the URL."""
        hook = settings.discord_webhook_url
        found = WEBHOOK.search(hook.get_secret_value()) if hook else None
        return [found["token"]] if found else []


ROOM = DiscordRoom()
