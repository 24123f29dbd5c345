"""Commands register themselves with their usage and help text (the monzo/response pattern), so
`/claude help`, each platform's command list (a manifest, a command tree) all come from one list."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.commands.context import Answer, CommandContext, Services

Handler = Callable[["CommandContext", "Services", list[str]], Awaitable["Answer"]]


@dataclass(frozen=True)
class CommandSpec:
    name: str
    usage: str
    help: str
    handler: Handler
    takes_incident: bool = False
    changes_state: bool = False


@dataclass
class Registry:
    specs: dict[str, CommandSpec] = field(default_factory=dict)

    def command(
        self, name: str, usage: str, help: str, *, takes_incident: bool = False, changes_state: bool = False
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            if name in self.specs:
                raise ValueError(f"command {name!r} registered twice")
            self.specs[name] = CommandSpec(name, usage, help, handler, takes_incident, changes_state)
            return handler

        return register

    def get(self, name: str) -> CommandSpec | None:
        return self.specs.get(name)

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(self.specs.values())


COMMANDS = Registry()
