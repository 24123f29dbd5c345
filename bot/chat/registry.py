"""The chat platforms statusbot knows. Adding one (Teams, ...) means a folder and a line here."""

from __future__ import annotations

from bot.chat.platform import ChatPlatform
from bot.clock import Clock
from bot.config import Settings


def configured_platforms(settings: Settings, clock: Clock) -> list[ChatPlatform]:
    platforms: list[ChatPlatform] = []
    if settings.slack_enabled:
        from bot.chat.slack.platform import SlackPlatform

        platforms.append(SlackPlatform(settings, clock))
    if settings.discord_enabled:
        from bot.chat.discord.platform import DiscordPlatform

        platforms.append(DiscordPlatform(settings, clock))
    return platforms
