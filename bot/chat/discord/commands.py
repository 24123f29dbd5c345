"""`/claude …` and the alert's buttons on Discord, served by the chat-agnostic command layer.

The group's subcommands come from `bot.commands.registry.COMMANDS` (one list for every platform and
`help`); each runs `bot.commands.dispatch.dispatch`, and only the rendering is Discord's (an embed,
ephemeral when the answer says so). Every interaction is answered inside Discord's 3 s window
(`bot.chat.deadline`): slower work is deferred and answered by a follow-up.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, ParamSpec

import discord
from discord import app_commands

from bot.chat.deadline import Pending, Reply, answer_within
from bot.chat.discord import render
from bot.chat.discord.options import Option, Runner, callback, words
from bot.commands.context import Answer, CommandContext, Services
from bot.commands.dispatch import dispatch
from bot.commands.registry import COMMANDS
from bot.commands.responders import Membership, Responders
from bot.engine.events import Actor
from bot.engine.incidents import ActionError

log = logging.getLogger(__name__)


def has_role(user: discord.abc.User) -> Membership:
    """Whether the interaction's member has the responders' role: the member carries its role ids, so
    reading them needs no guild cached."""

    async def has(actor: Actor, role: str) -> bool:
        return int(role) in getattr(user, "_roles", ())

    return has


def actor_of(user: discord.abc.User) -> Actor:
    return Actor(name=user.display_name, id=str(user.id), platform="discord")


def reply(answer: Answer) -> dict[str, Any]:
    return {
        "embed": render.answer_embed(answer),
        "ephemeral": answer.ephemeral,
        "allowed_mentions": discord.AllowedMentions.none(),
    }


def build_group(name: str, service: str, run: Runner) -> app_commands.Group:
    group = app_commands.Group(
        name=name, description=f"Incidents of {service}: status, ack, resolve and more"[:100], guild_only=True
    )
    for spec in COMMANDS:
        group.add_command(
            app_commands.Command(name=spec.name, description=spec.help[:100], callback=callback(spec, run))
        )
    return group


class DiscordCommands:
    def __init__(self, services: Services, responders: Responders) -> None:
        self.services = services
        self.responders = responders
        self.pending = Pending()

    def context(self, interaction: discord.Interaction[Any], service: str | None = None) -> CommandContext:
        user = interaction.user
        return CommandContext(actor=actor_of(user), may_act=self.responders.check(has_role(user)), service=service)

    async def run(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        given: Sequence[tuple[Option, str | None]],
        service: str | None = None,
    ) -> None:
        context = self.context(interaction, service)
        await self.answer(interaction, self._command(name, given, context))

    def runner_for(self, service: str) -> Runner:
        """The runner of one service's command group (`/claude`, `/openai`, ...)."""

        async def run(
            interaction: discord.Interaction[Any], name: str, given: Sequence[tuple[Option, str | None]]
        ) -> None:
            await self.run(interaction, name, given, service)

        return run

    async def _command(self, name: str, given: Sequence[tuple[Option, str | None]], ctx: CommandContext) -> Answer:
        try:
            line = " ".join([name, *words(given, self.services)])
        except ActionError as exc:
            return Answer(str(exc), ok=False)
        return await dispatch(line, ctx, self.services)

    async def answer(self, interaction: discord.Interaction[Any], work: Coroutine[Any, Any, Answer]) -> None:
        what = f"/{_name(interaction)}"
        response, followup = interaction.response, interaction.followup
        answering = Reply(
            now=logged(what, lambda answer: response.send_message(**reply(answer))),
            hold=logged(what, lambda: response.defer(ephemeral=True, thinking=True)),
            later=logged(what, lambda answer: followup.send(**reply(answer))),
        )
        await answer_within(work, answering, self.pending)

    async def on_button(self, interaction: discord.Interaction[Any], verb: str, incident_id: int) -> None:
        """Ack/resolve act silently (the alert is edited through the outbox); refusals and the postmortem
        are answered privately."""
        what = f"the {verb} button"
        response, followup = interaction.response, interaction.followup

        async def now(answer: Answer) -> None:
            if _speaks(verb, answer):
                await response.send_message(**{**reply(answer), "ephemeral": True})
            else:
                await response.defer()

        async def later(answer: Answer) -> None:
            if _speaks(verb, answer):
                await followup.send(**{**reply(answer), "ephemeral": True})

        answering = Reply(now=logged(what, now), hold=logged(what, response.defer), later=logged(what, later))
        work = dispatch(f"{verb} {incident_id}", self.context(interaction), self.services)
        await answer_within(work, answering, self.pending)

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        """A subcommand Discord still lists but this version lacks is answered like any unknown one."""
        if isinstance(error, app_commands.CommandNotFound):
            work = dispatch(error.name, self.context(interaction), self.services)
        else:
            log.error("discord: /%s failed", _name(interaction), exc_info=error)
            work = _failure()
        if interaction.response.is_done():
            work.close()
            return
        await self.answer(interaction, work)

    async def settle(self) -> None:
        """Wait for command work still running (clean shutdown, tests)."""
        await self.pending.settle()


P = ParamSpec("P")


def logged(what: str, send: Callable[P, Awaitable[Any]]) -> Callable[P, Awaitable[None]]:
    """`send`, with Discord refusing it logged in one line instead of raised (the user sees nothing)."""

    async def sending(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await send(*args, **kwargs)
        except discord.HTTPException as exc:
            log.warning("discord: could not answer %s: %s", what, exc)

    return sending


def _speaks(verb: str, answer: Answer) -> bool:
    return verb == "postmortem" or not answer.ok


def _name(interaction: discord.Interaction[Any]) -> str:
    command = interaction.command
    return command.qualified_name if command is not None else "?"


async def _failure() -> Answer:
    return Answer("Something went wrong on my side; the error is in the bot's log.", ok=False)
