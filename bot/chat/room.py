"""What the core knows of a chat platform: its `Room`, one per folder listed in bot/chat/registry.py.

The core loops over the rooms to read the settings, name the sinks, route, run the doctor and start
the platforms, and so never names one. A room is light (its module imports no chat library); what is
heavy is imported inside `build` and `checks`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from importlib import import_module
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from bot.chat import registry
from bot.chat.routing import Router
from bot.clock import Clock
from bot.config import Settings

if TYPE_CHECKING:  # annotations only: the doctor is loaded when it runs
    from bot.chat.platform import ChatPlatform
    from bot.doctor import Spec

S = TypeVar("S", bound=BaseModel)


class Room(ABC, Generic[S]):
    name: str  # the sink's name in the outbox
    settings: type[S]  # its settings.py's SETTINGS
    channels: type[BaseModel]  # its settings.py's CHANNELS: the one key a service or route may set
    loggers: tuple[str, ...] = ()  # its libraries' loggers, kept at WARNING

    @property
    def channel_key(self) -> str:
        return next(iter(self.channels.model_fields))

    def own(self, settings: Settings) -> S:
        """This platform's view of the settings (they are one object; this is the typed view)."""
        if not isinstance(settings, self.settings):
            raise TypeError(f"{type(settings).__name__} has no {self.name} settings (is {self.name} registered?)")
        return settings

    @abstractmethod
    def enabled(self, settings: S) -> bool:
        """Its settings turn it on."""

    @abstractmethod
    def build(self, settings: Settings, clock: Clock) -> ChatPlatform:
        """Its sink and command transport, for a configured platform."""

    def checks(self, settings: Settings, channels: list[str]) -> list[Spec]:
        """Its `statusbot doctor` checks, given every channel the bot may post to on it."""
        return []

    def secrets(self, settings: S) -> list[str]:
        """Secrets beyond its SecretStr fields that a message might show (a part of a URL)."""
        return []

    def default_channel(self, settings: Settings) -> str | None:
        value = getattr(self.own(settings), self.channel_key, None)
        return value if isinstance(value, str) else None

    def router(self, settings: Settings) -> Router:
        default = self.default_channel(settings)
        if default is None:
            raise ValueError(f"{self.name}: no default channel")  # its settings' checks insist on one
        return Router(settings, self.channel_key, default)

    def channels_in_use(self, settings: Settings) -> list[str]:
        """Every channel the bot may post to here: the default, each service's own and its routes'."""
        found = [self.default_channel(settings)]
        for service in settings.effective_services():
            found += [service.channel(self.channel_key), *(r.channel(self.channel_key) for r in service.routes)]
        return list(dict.fromkeys(c for c in found if c))


def rooms() -> list[Room[Any]]:
    """Every registered platform's room, in the registry's order."""
    return [import_module(f"{package}.room").ROOM for package in registry.PLATFORMS]


def configured(settings: Settings) -> list[Room[Any]]:
    return [room for room in rooms() if room.enabled(room.own(settings))]


def console_wanted(settings: Settings) -> bool:
    """The console prints threads when asked to, or when no chat platform is configured."""
    return settings.console if settings.console is not None else not configured(settings)


def build_platforms(settings: Settings, clock: Clock) -> list[ChatPlatform]:
    return [room.build(settings, clock) for room in configured(settings)]
