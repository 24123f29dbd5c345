"""Parse a command line, find the command, run it; every failure becomes a helpful ephemeral answer."""

from __future__ import annotations

import logging
import time

from bot.commands import handlers  # noqa: F401  (registers the commands)
from bot.commands.arguments import BadArgument
from bot.commands.context import Answer, CommandContext, Services
from bot.commands.registry import COMMANDS
from bot.engine.incidents import ActionError
from bot.inputs import printable

log = logging.getLogger(__name__)
MAX_COMMAND_LENGTH = 500


async def dispatch(text: str, ctx: CommandContext, services: Services) -> Answer:
    words = text.strip()[:MAX_COMMAND_LENGTH].split()
    name = words[0].lower() if words else "help"
    spec = COMMANDS.get(name)
    if spec is None:
        return Answer(
            f"I don't know `{printable(name)}`.", (f"Try `{services.command} help` for what I can do.",), ok=False
        )
    if spec.changes_state and not await ctx.may_act(ctx.actor):
        return Answer(
            f"You are not allowed to {name} incidents.",
            ("Ask whoever set up statusbot to add you to the responders.",),
            ok=False,
        )
    started = time.perf_counter()
    try:
        return await spec.handler(ctx, services, words[1:])
    except BadArgument as exc:
        services.refusals.warning(f"command.{name}", "commands: refused `%s` arguments: %s", name, exc)
        return Answer(str(exc), ok=False)
    except ActionError as exc:
        return Answer(str(exc), ok=False)
    except Exception:
        log.exception("command %r failed", name)
        return Answer("Something went wrong on my side; the error is in the bot's log.", ok=False)
    finally:
        if services.metrics is not None:
            services.metrics.command(name, time.perf_counter() - started)
