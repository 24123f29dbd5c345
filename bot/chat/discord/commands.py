"""`/claude …` and the alert's buttons on Discord, served by the chat-agnostic command layer.

The group's subcommands come from `bot.commands.registry.COMMANDS` (one list for Slack, Discord and
`help`); each runs `bot.commands.dispatch.dispatch`, and only the rendering is Discord's (an embed,
ephemeral when the answer says so). Every interaction is answered inside Discord's 3 s window: work
that is not done within `ANSWER_BUDGET` is deferred and answered by a follow-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Sequence
from typing import Any

import discord
from discord import app_commands

from bot.chat.discord import render
from bot.chat.discord.options import Option, Runner, callback, words
from bot.commands.context import Answer, CommandContext, Services
from bot.commands.dispatch import dispatch
from bot.commands.registry import COMMANDS
from bot.engine.events import Actor
from bot.engine.incidents import ActionError

log = logging.getLogger(__name__)
ANSWER_BUDGET = 2.0  # seconds of work answered directly; Discord drops answers after 3 s


class Responders:
    """Who may ack and resolve: listed user ids, members of one role, or (neither set) anyone."""

    def __init__(self, ids: frozenset[str], role: str | None) -> None:
        self.ids = ids
        self.role = int(role) if role else None

    def allows(self, user: discord.abc.User) -> bool:
        if not self.ids and self.role is None:
            return True
        if str(user.id) in self.ids:
            return True
        # The interaction's member carries its role ids; reading them does not need the guild cached.
        return self.role is not None and self.role in getattr(user, "_roles", ())


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
        self._tasks: set[asyncio.Task[Any]] = set()

    def context(self, interaction: discord.Interaction[Any], service: str | None = None) -> CommandContext:
        user = interaction.user

        async def may_act(actor: Actor) -> bool:
            return self.responders.allows(user)

        return CommandContext(actor=actor_of(user), may_act=may_act, service=service)

    async def run(
        self,
        interaction: discord.Interaction[Any],
        name: str,
        given: Sequence[tuple[Option, str | None]],
        service: str | None = None,
    ) -> None:
        context = self.context(interaction, service)
        await self.answer(interaction, self._start(self._command(name, given, context)))

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

    async def answer(self, interaction: discord.Interaction[Any], work: asyncio.Task[Answer]) -> None:
        done, _ = await asyncio.wait({work}, timeout=ANSWER_BUDGET)
        try:
            if done:
                await interaction.response.send_message(**reply(work.result()))
                return
            await interaction.response.defer(ephemeral=True, thinking=True)
            await interaction.followup.send(**reply(await work))
        except discord.HTTPException as exc:
            log.warning("discord: could not answer /%s: %s", _name(interaction), exc)

    async def on_button(self, interaction: discord.Interaction[Any], verb: str, incident_id: int) -> None:
        """Ack/resolve act silently (the alert is edited through the outbox); refusals and the postmortem
        are answered privately."""
        work = self._start(dispatch(f"{verb} {incident_id}", self.context(interaction), self.services))
        done, _ = await asyncio.wait({work}, timeout=ANSWER_BUDGET)
        try:
            if done and _speaks(verb, work.result()):
                await interaction.response.send_message(**{**reply(work.result()), "ephemeral": True})
                return
            await interaction.response.defer()
            answer = await work
            if not done and _speaks(verb, answer):
                await interaction.followup.send(**{**reply(answer), "ephemeral": True})
        except discord.HTTPException as exc:
            log.warning("discord: could not answer the %s button: %s", verb, exc)

    async def on_error(self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError) -> None:
        """A subcommand Discord still lists but this version lacks is answered like any unknown one."""
        if isinstance(error, app_commands.CommandNotFound):
            work = self._start(dispatch(error.name, self.context(interaction), self.services))
        else:
            log.error("discord: /%s failed", _name(interaction), exc_info=error)
            work = self._start(_failure())
        if not interaction.response.is_done():
            await self.answer(interaction, work)

    def _start(self, work: Awaitable[Answer]) -> asyncio.Task[Answer]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settle(self) -> None:
        """Wait for command work still running (clean shutdown, tests)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _speaks(verb: str, answer: Answer) -> bool:
    return verb == "postmortem" or not answer.ok


def _name(interaction: discord.Interaction[Any]) -> str:
    command = interaction.command
    return command.qualified_name if command is not None else "?"


async def _failure() -> Answer:
    return Answer("Something went wrong on my side; the error is in the bot's log.", ok=False)
