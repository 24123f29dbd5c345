"""The demo's database, ./statusbot-demo.db: a fresh one each run, kept afterwards for the next commands
to try.

(Making its schema in a child while the demo loads the pipeline was measured: +0.45 s of CPU and no
wall time saved on the loaded two-core machine, so the demo migrates in-process.)"""

from __future__ import annotations

from pathlib import Path

NAME = "statusbot-demo.db"


def fresh(folder: Path) -> Path:
    """A new demo database each time: an old one, and its WAL files, are removed."""
    database = folder.absolute() / NAME
    for leftover in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
        leftover.unlink(missing_ok=True)
    return database
