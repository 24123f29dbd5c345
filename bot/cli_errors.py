"""Every CLI mistake as one line on stderr with its exit status, never a traceback.

The top-level command group runs in click's non-standalone mode and turns what comes out into one
line: usage errors (a bad option or argument: status 2), and (bot/problems.py) a `Problem` and file
errors the commands did not foresee. Bugs still raise: a traceback there is for us to fix.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any

import typer
from typer._click import exceptions as click_errors  # typer carries its own copy of click
from typer.core import TyperGroup

from bot.problems import RUNTIME, USAGE, reported, say


def report(call: Callable[[], Any]) -> int:
    """Run the command line; the exit status it ends with."""
    try:
        return reported(call)
    except click_errors.NoArgsIsHelpError as exc:  # `statusbot` alone, `statusbot db`: the help
        typer.echo(exc.ctx.get_help())
        return 0
    except click_errors.UsageError as exc:
        path = exc.ctx.command_path if exc.ctx is not None else "statusbot"
        message = " ".join(exc.format_message().split())
        typer.echo(f"{path}: {message} (see `{path} --help`)", err=True)
        return USAGE
    except click_errors.ClickException as exc:
        return say(exc.format_message(), exc.exit_code)
    except typer.Abort:
        return say("aborted", RUNTIME)


class OneLineGroup(TyperGroup):
    """The `statusbot` group: whatever goes wrong is said in one line (see `report`)."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        parent = super().main
        code = report(
            lambda: parent(args, prog_name, complete_var, False, windows_expand_args, **extra)  # non-standalone
        )
        if standalone_mode:
            sys.exit(code)
        return code
