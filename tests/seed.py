"""One row in every table the schema has at a given revision, read back from the database itself.

The upgrade tests seed whatever tables exist at each earlier revision, then migrate to head: a
migration that cannot carry data forward (a NOT NULL column without a default, a type PostgreSQL
will not cast, a table rebuilt without its rows) fails there, on both engines, without anyone
having to write seed data for each new migration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, MetaData, Table, func, select
from sqlalchemy.engine import Connection

SKIP = {"alembic_version"}
AT = datetime(2026, 1, 2, 3, 4, 5)  # naive UTC, as UTCDateTime stores it


def reflect(conn: Connection) -> MetaData:
    metadata = MetaData()
    metadata.reflect(conn)
    return metadata


def seed_every_table(conn: Connection) -> dict[str, int]:
    """Insert one row per table (parents first, foreign keys pointing at them); returns the tables' counts."""
    counts = {}
    for table in reflect(conn).sorted_tables:
        if table.name in SKIP:
            continue
        conn.execute(table.insert().values({c.name: sample(c) for c in table.columns}))
        # what the table holds now: a migration may have put a row there already (the leader lease)
        counts[table.name] = conn.execute(select(func.count()).select_from(table)).scalar_one()
    return counts


def row_counts(conn: Connection) -> dict[str, int]:
    return {
        t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
        for t in reflect(conn).sorted_tables
        if t.name not in SKIP
    }


def sample(column: Column[Any]) -> Any:
    """A value of the column's type; a foreign key takes its parent's sample, so the row joins."""
    for fk in column.foreign_keys:
        return sample(fk.column)
    table = column.table.name if isinstance(column.table, Table) else "t"
    try:
        kind = column.type.python_type
    except NotImplementedError:
        kind = str
    if kind is bool:
        return True
    if kind is int:
        return 1
    if kind is float:
        return 1.5
    if kind is datetime:
        return AT
    if kind in (dict, list):
        return {}
    length = getattr(column.type, "length", None) or 200
    return f"{table}.{column.name}"[:length]
