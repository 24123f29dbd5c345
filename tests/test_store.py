"""The schema exists only through the migrations, and the migrations match the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401
from bot.store.db import Database, current_revision, upgrade


def test_upgrade_creates_every_table_and_no_drift_from_the_models(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    upgrade(url)
    database = Database(url)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
        tables = set(inspect(conn).get_table_names())
        journal = conn.execute(text("PRAGMA journal_mode")).scalar()
    database.dispose()
    assert diff == []
    assert set(SQLModel.metadata.tables) <= tables
    assert journal == "wal"
    assert current_revision(url) is not None


def test_upgrade_twice_is_harmless(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    upgrade(url)
    upgrade(url)
    assert current_revision(url) is not None


def test_upgrade_from_every_revision_keeps_the_data(tmp_path: Path) -> None:
    """Users' top complaint about incident bots: migrations that break on upgrade. Walk every step
    with rows in the tables."""
    from alembic.script import ScriptDirectory

    from bot.store.db import alembic_config

    url = f"sqlite:///{tmp_path / 'steps.db'}"
    revisions = [r.revision for r in reversed(list(ScriptDirectory.from_config(alembic_config(url)).walk_revisions()))]
    upgrade(url, revisions[0])
    database = Database(url)
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incident (id, service, source, upstream_id, kind, title, status, impact, components,"
                " announced, preexisting, started_at, detected_at, updated_at) VALUES (1, 'claude', 'statuspage',"
                " 'up1', 'incident', 'Old', 'investigating', 'minor', '[]', 1, 0, '2026-01-01 00:00:00',"
                " '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO outbox (id, sink, incident_id, action, created_at, attempts, next_attempt_at)"
                " VALUES (1, 'console', 1, 'open', '2026-01-01 00:00:00', 0, '2026-01-01 00:00:00')"
            )
        )
    for revision in revisions[1:]:
        upgrade(url, revision)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT title FROM incident WHERE id = 1")).scalar() == "Old"
        assert conn.execute(text("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")).scalar() == 1
    database.dispose()
