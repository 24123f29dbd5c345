"""Slash-command options read from each command's usage line in the registry, so a command added to
`bot.commands.registry.COMMANDS` needs nothing on Discord's side.

`[ID]` is an optional `incident` option (a string, so `#12` and typos reach the command layer and get
its helpful answer), `[7d|30d|90d]` an optional `choice` among those values, any other `[word]` an
optional `word`. The command layer reads arguments by position; an incident left out before a later
argument (`/claude snooze minutes:30`) means the most recent open incident, as it does on every platform.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Optional

import discord

from bot.commands.context import Services
from bot.commands.handlers import resolve_id
from bot.commands.registry import CommandSpec

ARGUMENT = re.compile(r"\[([^\]]+)\]")
OPTION_NAME = re.compile(r"[^a-z0-9_-]+")
INCIDENT_HELP = "Incident number; default: the most recent open incident"


@dataclass(frozen=True)
class Option:
    name: str
    description: str
    choices: tuple[str, ...] = ()
    incident: bool = False

    @property
    def annotation(self) -> Any:
        if self.choices:
            return Optional[Literal[self.choices]]  # noqa: UP045  (a runtime type discord.py reads)
        return Optional[str]  # noqa: UP045


Runner = Callable[[discord.Interaction[Any], str, Sequence[tuple[Option, str | None]]], Awaitable[None]]


def options_of(spec: CommandSpec) -> list[Option]:
    options: list[Option] = []
    for token in ARGUMENT.findall(spec.usage):
        if token.upper() == "ID":
            option = Option("incident", INCIDENT_HELP, incident=True)
        elif "|" in token:
            choices = tuple(part.strip() for part in token.split("|"))
            option = Option("choice", f"One of {', '.join(choices)}", choices)
        else:
            option = Option(OPTION_NAME.sub("_", token.lower()).strip("_")[:32] or "value", token[:100])
        if option.name not in {o.name for o in options}:
            options.append(option)
    return options


def callback(spec: CommandSpec, run: Runner) -> Callable[..., Coroutine[Any, Any, None]]:
    """A coroutine whose signature lists the options, which is how discord.py learns them."""
    options = options_of(spec)

    async def invoke(interaction: discord.Interaction[Any], **values: str | None) -> None:
        await run(interaction, spec.name, [(option, values.get(option.name)) for option in options])

    parameters = [
        inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction)
    ]
    parameters += [
        inspect.Parameter(o.name, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None, annotation=o.annotation)
        for o in options
    ]
    # discord.py reads the options from these two attributes, which a function's type does not declare
    invoke.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    invoke.__discord_app_commands_param_description__ = {o.name: o.description for o in options}  # type: ignore[attr-defined]
    invoke.__qualname__ = invoke.__name__ = f"claude_{spec.name}"
    return invoke


def words(given: Sequence[tuple[Option, str | None]], services: Services) -> list[str]:
    """The command line's arguments, by position. May raise the command layer's ActionError."""
    last = max((i for i, (_, value) in enumerate(given) if value), default=-1)
    out: list[str] = []
    for option, value in given[: last + 1]:
        if value:
            out.append(value.strip())
        elif option.incident:
            out.append(str(resolve_id(services, [])))
        else:
            break  # a gap the command layer cannot express; the arguments after it are left out
    return out
