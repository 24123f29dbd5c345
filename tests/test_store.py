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
