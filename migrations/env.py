"""Alembic environment: the models' metadata, batch mode so SQLite can alter tables."""

from __future__ import annotations

import logging

from alembic import context
from sqlalchemy import text
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.store.db import make_engine

MIGRATION_LOCK = 0x57A7B07  # any constant: one advisory lock per database, held for the migration
config = context.config
target_metadata = SQLModel.metadata
logging.getLogger("alembic").setLevel(logging.WARNING)


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(config.get_main_option("sqlalchemy.url") or "", foreign_keys=False)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection: object) -> None:
    # transactional_ddl: on SQLite too (bot.store.db gives migrations real DDL transactions), so the
    # whole upgrade commits at once and a kill -9 half-way leaves the previous schema intact.
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":  # type: ignore[attr-defined]
            # replicas started together (or a release phase beside a running pod) upgrade one at a time
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})  # type: ignore[attr-defined]
        context.run_migrations()


run_migrations_online()
