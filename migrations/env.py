"""Alembic environment: the models' metadata, batch mode so SQLite can alter tables."""

from __future__ import annotations

import logging

from alembic import context
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from bot.store.db import make_engine

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
        context.run_migrations()


run_migrations_online()
