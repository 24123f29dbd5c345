"""`statusbot db backup`: SQLite's online backup, which copies a consistent snapshot while the bot
keeps writing. Every way it can fail is one line naming the file and the fix."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from bot.problems import USAGE, Problem
from bot.store.errors import explain, sqlite_file


def backup(url: str, target: Path) -> str:
    """Copy the database to `target` (a file, or a folder to put it in); what was done, as one line."""
    source = sqlite_file(url)
    if source is None:
        raise Problem(
            "db backup copies SQLite databases; on PostgreSQL use pg_dump:"
            ' pg_dump --format=custom --file=statusbot.dump "$DATABASE_URL"',
            USAGE,
        )
    if not source.is_file():
        raise Problem(f"there is no database at {source} (DATABASE_URL): nothing to back up")
    destination = _destination(target.expanduser().absolute(), source)
    try:
        src = sqlite3.connect(source)
    except sqlite3.Error as exc:
        raise explain(exc, url) from None
    try:
        with sqlite3.connect(destination) as dst:
            src.backup(dst)
    except sqlite3.Error as exc:
        raise Problem(f"cannot write the backup to {destination}: {exc}") from None
    finally:
        src.close()
    return f"copied {source} to {destination}"


def _destination(target: Path, source: Path) -> Path:
    if target.is_dir():
        target = target / source.name
    if target == source:
        raise Problem(f"the backup would overwrite the database itself ({source}): choose another FILE", USAGE)
    if not target.parent.is_dir():
        raise Problem(f"cannot write {target}: the folder {target.parent} does not exist", USAGE)
    if not os.access(target.parent, os.W_OK | os.X_OK):
        raise Problem(f"cannot write {target}: the folder {target.parent} is read-only")
    return target
