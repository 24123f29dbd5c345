"""A chat platform = a sink (outgoing) + listeners for commands and buttons (incoming) + lifecycle.

Each platform lives in its own folder under bot/chat/ and is listed in `bot.chat.registry`; nothing
else in the bot names a platform."""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from bot.chat.base import Sink
from bot.commands.context import Services


class ChatPlatform(Protocol):
    name: str
    # Started only on the replica that leads (a connection the platform allows once per bot, like
    # a chat gateway); otherwise started on every replica.
    leader_only: bool

    @property
    def sink(self) -> Sink: ...

    def bind(self, services: Services) -> None:
        """Wire incoming commands and buttons to the chat-agnostic command layer."""

    def routes(self) -> list[web.RouteDef]:
        """HTTP routes the platform serves on the bot's one server (may be empty)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...
