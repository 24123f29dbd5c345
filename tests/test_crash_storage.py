"""`kill -9` in the middle of a migration or of a VACUUM, then a restart: the database is usable,
its data intact. The kill lands at a chosen SQL statement (or SQLite VM step) of a real child
process, so the moments are exact and seeded rather than left to timing."""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from bot.store.db import current_revision, head_revision, upgrade
from tests.processes import cli

HEAD = head_revision()  # the newest migration, whichever it is now
FILLER = {"INTEGER": 0, "BOOLEAN": 0, "JSON": "[]", "DATETIME": "2026-04-15 13:00:00.000000"}
KILL_AFTER_STATEMENT = """
import os, signal, sys
from sqlalchemy import event
from sqlalchemy.engine import Engine
limit, seen = int(sys.argv[2]), [0]
@event.listens_for(Engine, "after_cursor_execute")
def count(*args):
    seen[0] += 1
    if seen[0] == limit:
        os.kill(os.getpid(), signal.SIGKILL)
from bot.store.db import upgrade
upgrade(sys.argv[1])
print(seen[0])
"""
KILL_MID_VACUUM = """
import os, signal, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
steps = [0]
def step():
    steps[0] += 1
    if steps[0] == int(sys.argv[2]):
        os.kill(os.getpid(), signal.SIGKILL)
conn.set_progress_handler(step, 1000)
conn.execute("VACUUM")
print(steps[0])
"""


def child(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60)


def fill(path: Path, rows: int = 1) -> None:
    """`rows` incidents with one timeline entry each, whatever the schema's revision."""
    conn = sqlite3.connect(path)
    for n in range(rows):
        incident = _insert(conn, "incident", {"service": "claude", "source": "statuspage", "upstream_id": f"u{n}"})
        _insert(conn, "timeline_entry", {"incident_id": incident, "body": "x" * 200})
    conn.commit()
    conn.close()


def _insert(conn: sqlite3.Connection, table: str, given: dict[str, object]) -> int:
    values = dict(given)
    for _, name, kind, notnull, default, pk in conn.execute(f"PRAGMA table_info({table})"):
        if name in values or pk or not notnull or default is not None:
            continue
        values[name] = {"INTEGER": 0, "BOOLEAN": 0, "JSON": "[]", "DATETIME": "2026-04-15 13:00:00.000000"}.get(
            kind, "x"
        )
    names = ", ".join(values)
    cursor = conn.execute(
        f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(values))})", list(values.values())
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def usable(path: Path, env: dict[str, str], incidents: int) -> None:
    restarted = cli(env, "db", "upgrade")
    assert restarted.returncode == 0, restarted.stderr
    assert "Traceback" not in restarted.stderr
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert conn.execute("SELECT count(*) FROM incident").fetchone() == (incidents,)
    assert conn.execute("SELECT count(*) FROM timeline_entry").fetchone() == (incidents,)
    conn.close()
    listed = cli(env, "incidents")
    assert listed.returncode == 0, listed.stderr


def env_for(path: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": f"sqlite:///{path}"}


def test_kill_9_mid_migration_leaves_the_previous_schema_and_the_data(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    url = f"sqlite:///{path}"
    upgrade(url, "0005")
    fill(path)
    shutil.copy(path, tmp_path / "count.db")
    total = int(child(KILL_AFTER_STATEMENT, f"sqlite:///{tmp_path / 'count.db'}", "0").stdout)
    moments = sorted(random.Random(10).sample(range(1, total), 3))  # into 0006 and 0007
    for moment in moments:
        killed = child(KILL_AFTER_STATEMENT, url, str(moment))
        assert killed.returncode == -9
        assert current_revision(url) in ("0005", "0006", "0007", "0008", HEAD)  # a revision, never half of one
    usable(path, env_for(path), incidents=1)
    assert current_revision(url) == HEAD


def test_kill_9_mid_migration_of_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    for moment in (40,):  # inside 0002's table copies
        assert child(KILL_AFTER_STATEMENT, f"sqlite:///{path}", str(moment)).returncode == -9
    usable(path, env_for(path), incidents=0)


def test_kill_9_mid_vacuum(tmp_path: Path) -> None:
    path = tmp_path / "bot.db"
    upgrade(f"sqlite:///{path}")
    fill(path, rows=2000)
    conn = sqlite3.connect(path)
    conn.execute("DELETE FROM timeline_entry WHERE incident_id > 1000")
    conn.execute("DELETE FROM incident WHERE id > 1000")
    conn.commit()
    conn.close()
    steps = int(child(KILL_MID_VACUUM, str(path), "0").stdout)
    for moment in (steps // 4, steps // 2, steps - 2):
        assert child(KILL_MID_VACUUM, str(path), str(moment)).returncode == -9
    usable(path, env_for(path), incidents=1000)
