"""What a command gets (who asks, how to check they may act, the bot's services) and what it gives
back: an `Answer`, plain text the platform renders and escapes in its own way."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.engine.events import Actor
from bot.engine.incidents import IncidentEngine
from bot.engine.views import IncidentCard
from bot.logs import Throttled
from bot.metrics import Metrics
from bot.store.db import Database


async def anyone(actor: Actor) -> bool:
    return True


@dataclass(frozen=True)
class CommandContext:
    actor: Actor
    may_act: Callable[[Actor], Awaitable[bool]] = anyone
    service: str | None = None  # the service whose command was used (None: the default one)


@dataclass(frozen=True)
class Services:
    db: Database
    engine: IncidentEngine
    clock: Clock
    service: str
    command: str = "/claude"
    page_url: str = ""
    probe_components: dict[str, list[str]] = field(default_factory=dict)
    metrics: Metrics | None = None
    pages: dict[str, str] = field(default_factory=dict)  # every watched service -> its status page
    refusals: Throttled = field(default_factory=lambda: Throttled(logging.getLogger("bot.commands")))
    probe_streams: tuple[tuple[str, str | None], ...] = ()  # (stream key, model) of every probe stream

    def service_for(self, ctx: CommandContext) -> str:
        return ctx.service or self.service


@dataclass(frozen=True)
class Answer:
    """A reply to one person. `ephemeral` answers are shown only to them."""

    title: str
    lines: tuple[str, ...] = ()
    ephemeral: bool = True
    ok: bool = True
    incident: IncidentCard | None = None
    fields: tuple[tuple[str, str], ...] = field(default=())

    @property
    def text(self) -> str:
        return "\n".join((self.title, *self.lines))
