"""The demo's database, ./statusbot-demo.db: a fresh one each run, kept afterwards for the next commands
to try. Its schema is made by a child `statusbot db upgrade` that starts first, so Alembic and the
migrations run on another core while the demo loads the pipeline (this module imports only the
standard library)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

NAME = "statusbot-demo.db"


def fresh(folder: Path) -> Path:
    """A new demo database each time: an old one, and its WAL files, are removed."""
    database = folder.absolute() / NAME
    for leftover in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return database


def migrate_apart(database: Path) -> subprocess.Popen[bytes]:
    """`statusbot db upgrade` on it, in a child. Whatever it does, the demo's own upgrade comes after it:
    a no-op when the child made the schema, the one that says what is wrong when it did not."""
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "db", "upgrade", "--db", str(database)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
