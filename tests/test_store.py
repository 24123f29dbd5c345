"""The schema exists only through the migrations, and the migrations match the models — on SQLite
and on PostgreSQL, from empty and from every earlier revision with data in the tables."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlmodel import SQLModel, select

import bot.store.models  # noqa: F401
from bot.store.db import Database, alembic_config, current_revision, upgrade
from bot.store.models import OutboxMessage
from tests import postgres
from tests.seed import row_counts, seed_every_table

REVISIONS = [
    r.revision for r in reversed(list(ScriptDirectory.from_config(alembic_config("sqlite://")).walk_revisions()))
]


def test_upgrade_creates_every_table_and_no_drift_from_the_models(any_db_url: str) -> None:
    upgrade(any_db_url)
    database = Database(any_db_url)
    with database.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), SQLModel.metadata)
        tables = set(inspect(conn).get_table_names())
    database.dispose()
    assert diff == []
    assert set(SQLModel.metadata.tables) <= tables
    assert current_revision(any_db_url) == REVISIONS[-1]


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'wal.db'}"
    upgrade(db_url)
    database = Database(db_url)
    with database.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    database.dispose()


def test_upgrade_twice_is_harmless(any_db_url: str) -> None:
    upgrade(any_db_url)
    upgrade(any_db_url)
    assert current_revision(any_db_url) == REVISIONS[-1]


@pytest.mark.parametrize("start", REVISIONS[:-1])
@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_upgrade_from_every_revision_keeps_the_data(engine: str, start: str, tmp_path: Path) -> None:
    """Users' top complaint about incident bots: migrations that break on upgrade. A row in every
    table that exists at `start`, then every step to head; the rows are still there and load
    through today's models."""
    if engine == "sqlite":
        _upgrade_with_data(f"sqlite:///{tmp_path / 'steps.db'}", start)
        return
    with postgres.fresh_database() as url:
        _upgrade_with_data(url, start)


def _upgrade_with_data(url: str, start: str) -> None:
    upgrade(url, start)
    database = Database(url)
    with database.engine.begin() as conn:
        seeded = seed_every_table(conn)
    for revision in REVISIONS[REVISIONS.index(start) + 1 :]:
        upgrade(url, revision)
    with database.engine.connect() as conn:
        counts = row_counts(conn)
    assert {name: counts[name] for name in seeded} == seeded
    with database.session() as session:
        for mapper in SQLModel._sa_registry.mappers:
            if mapper.local_table.name in seeded:
                assert session.exec(select(mapper.class_)).all()
    database.dispose()


def test_a_pending_delivery_stays_pending_across_upgrades(any_db_url: str) -> None:
    """An outbox row queued under the first schema is still due after the last migration."""
    upgrade(any_db_url, REVISIONS[0])
    database = Database(any_db_url)
    at = datetime(2026, 1, 1)
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO incident (id, service, source, upstream_id, kind, title, status, impact, components,"
                " announced, preexisting, started_at, detected_at, updated_at) VALUES (1, 'claude', 'statuspage',"
                " 'up1', 'incident', 'Old', 'investigating', 'minor', '[]', :yes, :no, :at, :at, :at)"
            ),
            {"yes": True, "no": False, "at": at},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (id, sink, incident_id, action, created_at, attempts, next_attempt_at)"
                " VALUES (1, 'console', 1, 'open', :at, 0, :at)"
            ),
            {"at": at},
        )
    upgrade(any_db_url)
    with database.session() as session:
        row = session.exec(select(OutboxMessage)).one()
    database.dispose()
    assert (row.delivered_at, row.gave_up, row.next_attempt_at) == (None, False, at.replace(tzinfo=UTC))


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u:p@db.example:5432/bot", "postgresql+psycopg://u:p@db.example:5432/bot"),
        ("postgresql://u@db.example/bot?sslmode=require", "postgresql+psycopg://u@db.example/bot?sslmode=require"),
        ("postgresql+psycopg://u@db.example/bot", "postgresql+psycopg://u@db.example/bot"),
        ("sqlite:///statusbot.db", "sqlite:///statusbot.db"),
    ],
)
def test_database_urls_as_hosts_hand_them_out(given: str, used: str) -> None:
    from bot.config import Settings

    assert Settings(database_url=given).database_url == used


def test_heroku_style_url_reaches_postgresql(pg_url: str) -> None:
    heroku = "postgres://" + pg_url.split("://", 1)[1]
    upgrade(heroku)
    assert current_revision(heroku) == REVISIONS[-1]


def test_no_postgresql_skips_on_a_laptop_and_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STATUSBOT_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:1/postgres")
    postgres.unavailable.cache_clear()
    try:
        monkeypatch.setenv("CI", "false")
        with pytest.raises(pytest.skip.Exception, match="no PostgreSQL answers at"):
            postgres.require()
        monkeypatch.setenv("CI", "true")
        with pytest.raises(pytest.fail.Exception, match="CI=true but the PostgreSQL tests cannot run"):
            postgres.require()
    finally:
        postgres.unavailable.cache_clear()
