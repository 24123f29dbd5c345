"""The `statusbot` console script (and `python -m bot`).

`statusbot run`, the process that stays up, starts the bot without the CLI's parser: typer and the
pydantic adapters it builds for every option would hold 2.1 MiB of its memory for its whole life
(bench/startup_rss.py). Every other command line, `run --help` included, goes to bot/cli.py.
"""

from __future__ import annotations

import gc
import sys


def main() -> None:
    try:
        if sys.argv[1:] == ["run"]:
            from bot.problems import reported
            from bot.serve import serve

            sys.exit(reported(serve))
        from bot.cli import main as cli

        cli()
    finally:
        # The interpreter's last garbage collection walks every object left: 0.3 s after the demo, for
        # nothing, as the process is ending. Frozen objects are left out of it.
        gc.freeze()
