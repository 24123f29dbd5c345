"""`statusbot db copy --to URL`: every table from one database into another (SQLite → PostgreSQL,
usually), in one transaction on the target, then the row counts compared table by table.

The target is migrated first and must hold no data; ids are kept (threads, outbox rows and timeline
entries refer to each other by id), so PostgreSQL's id sequences are moved past the copied ids."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Table, func, select, text
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import bot.store.models  # noqa: F401  (registers the tables)
from bot.store import urls
from bot.store.db import Database

BATCH = 1000
NOT_COPIED = {"leader_lease"}  # who leads is the target deployment's own business


class CopyError(Exception):
    """The copy cannot start or did not come out identical (one line for the CLI)."""


@dataclass(frozen=True)
class Copied:
    table: str
    rows: int


def tables() -> list[Table]:
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in NOT_COPIED]


def copy(source: Database, target: Database) -> list[Copied]:
    if urls.normalise(source.url) == urls.normalise(target.url):
        raise CopyError("the target is the database statusbot already uses")
    source.upgrade()
    target.upgrade()
    with source.engine.connect() as src, target.engine.begin() as dst:
        filled = [f"{t.name} ({n} rows)" for t in tables() if (n := _count(dst, t))]
        if filled:
            raise CopyError(f"the target already holds data: {', '.join(filled[:3])}; copy into an empty database")
        for table in tables():
            for rows in _batches(src, table):
                dst.execute(table.insert(), rows)
        if dst.dialect.name == "postgresql":
            _advance_sequences(dst)
        copied = [Copied(t.name, _count(src, t)) for t in tables()]
        wrong = [
            f"{c.table}: {c.rows} in the source, {n} copied" for c in copied if (n := _count(dst, c.table)) != c.rows
        ]
        if wrong:
            raise CopyError(f"counts differ, nothing was committed: {'; '.join(wrong)}")
    return copied


def _batches(conn: Connection, table: Table) -> Iterator[list[dict[str, object]]]:
    result = conn.execute(select(table).order_by(*table.primary_key.columns))
    while rows := result.fetchmany(BATCH):
        yield [dict(row._mapping) for row in rows]


def _count(conn: Connection, table: Table | str) -> int:
    if isinstance(table, str):
        table = SQLModel.metadata.tables[table]
    return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _advance_sequences(conn: Connection) -> None:
    for table in tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (column.autoincrement == "auto" and column.type.python_type is int):
                sequence = conn.execute(
                    text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": column.name}
                ).scalar()
                if sequence is not None:
                    conn.execute(
                        text(
                            f"SELECT setval(:sequence, coalesce((SELECT max({column.name}) FROM {table.name}), 0) + 1,"
                            " false)"
                        ),
                        {"sequence": sequence},
                    )
