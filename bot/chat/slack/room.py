"""Slack's room: what the core knows of Slack (see bot/chat/room.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.chat.room import Room
from bot.chat.slack.settings import SlackChannels, SlackSettings
from bot.clock import Clock
from bot.config import Settings

if TYPE_CHECKING:
    from bot.chat.platform import ChatPlatform
    from bot.doctor import Spec


class SlackRoom(Room[SlackSettings]):
    name = "slack"
    settings = SlackSettings
    channels = SlackChannels
    loggers = ("slack_bolt", "slack_sdk")

    def enabled(self, settings: SlackSettings) -> bool:
        return settings.slack_bot_token is not None

    def build(self, settings: Settings, clock: Clock) -> ChatPlatform:
        from bot.chat.slack.platform import SlackPlatform

        return SlackPlatform(settings, self.own(settings), self.router(settings), clock)

    def checks(self, settings: Settings, channels: list[str]) -> list[Spec]:
        from bot.chat.slack.doctor import checks

        return checks(self.own(settings), channels if self.enabled(self.own(settings)) else [])


ROOM = SlackRoom()
