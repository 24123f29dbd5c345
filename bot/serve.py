"""`statusbot run`: the long-running bot, from its settings to SIGTERM.

Reached from the CLI's `run` command, or straight from the console script (bot/launch.py), which
skips the CLI's parser so that it never stays in the bot's memory.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from bot.problems import Problem


def serve() -> None:
    """Poll, serve HTTP, deliver to the chats until SIGTERM; a Problem for what a person must fix."""
    from bot import logs
    from bot.app import StatusBot
    from bot.config import settings_or_problem
    from bot.store.errors import database_errors

    settings = settings_or_problem()
    logs.setup(settings.log_level, settings.log_format)
    with database_errors(settings.database_url):
        _migrate_apart(settings.database_url)
        asyncio.run(StatusBot(settings).run_until_signalled())


def _migrate_apart(url: str) -> None:
    """A schema that is not current (a first start without the release phase) is migrated by a
    short-lived `statusbot db upgrade`, so Alembic (~11 MiB) never stays in the long-running bot."""
    from bot.store.db import Database, head_revision

    database = Database(url)
    try:
        current = database.revisions()
    finally:
        database.dispose()
    if current == {head_revision()}:
        return
    env = {**os.environ, "DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        said = (done.stderr.strip().splitlines() or ["the schema upgrade failed"])[-1]
        raise Problem(said.removeprefix("statusbot: "), done.returncode)
