"""The CLI's look-only commands read without the ORM (bot/store/reader.py), so they start in a fraction
of the time. They must read exactly what the bot reads through it: the same columns, the same values,
the same order, the same cards and JSON, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import SQLModel, select

from bot.demo.replay import run_demo
from bot.engine.live_cards import card_in
from bot.serialize import component_json, entry_json, incident_json
from bot.store import models, probe_status, queries
from bot.store.copy import copy
from bot.store.db import Database
from bot.store.reader import Reader
from bot.store.records import TABLES, IncidentRecord
from tests.seed import seed_every_table

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_each_record_has_exactly_its_tables_columns() -> None:
    for record, table in TABLES.items():
        columns = {c.name for c in SQLModel.metadata.tables[table].columns}
        assert {f.name for f in fields(record)} == columns, table


def test_every_column_of_every_table_reads_the_same_as_through_the_orm(any_db_url: str) -> None:
    """One row in every table, each column with a value of its type (tests/seed.py): each record holds
    what the ORM model holds, typed alike (aware UTC times, booleans, parsed JSON)."""
    database = Database(any_db_url)
    database.upgrade()
    with database.engine.begin() as conn:
        seed_every_table(conn)
    with database.session() as session, Reader.open(any_db_url) as reader:
        pairs: list[tuple[Any, Any]] = [
            (reader.incidents(include_resolved=True), session.exec(select(models.Incident)).all()),
            (reader.timeline(1), queries.timeline(session, 1)),
            (reader.components(), queries.components(session)),
            (reader.streams(1), session.exec(select(models.IncidentStream)).all()),
        ]
        keys = [("probe_result.probe", "claude-x"), ("nothing", None)]  # (the seeded detector state is no state)
        pairs.append((reader.probe_statuses(keys), probe_status.statuses(session, keys)))
        for plain, orm in pairs:
            assert len(plain) == len(orm) >= 1
            for record, model in zip(plain, orm, strict=True):
                assert _values(record) == _values(model, like=record)
    database.dispose()


def _values(row: Any, like: Any = None) -> dict[str, Any]:
    """A record's fields, or the same attributes of a model; a stream status with its last result's."""
    shape = like if like is not None else row
    values = {f.name: getattr(row, f.name) for f in fields(shape)}
    if "last" in values and values["last"] is not None:
        values["last"] = _values(values["last"], like=shape.last)
    for name, value in values.items():  # equal values of different types (1 == True) would hide a bad read
        values[name] = (type(value).__name__, value if not isinstance(value, datetime) else value.isoformat())
    return values


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo's database: a real replayed outage, its probe streams, people's acks, history."""
    folder = tmp_path_factory.mktemp("demo")
    import asyncio

    assert asyncio.run(run_demo(io.StringIO(), delay=0, folder=folder))
    return folder / "statusbot-demo.db"


@pytest.fixture
def demo_url(demo_file: Path, any_db_url: str) -> str:
    if any_db_url.startswith("sqlite"):
        return f"sqlite:///{demo_file}"
    source, target = Database(f"sqlite:///{demo_file}"), Database(any_db_url)
    copy(source, target)
    source.dispose(), target.dispose()
    return any_db_url


def test_the_look_only_commands_show_what_the_orm_reads(demo_url: str) -> None:
    database = Database(demo_url)
    with database.session() as session, Reader.open(demo_url) as reader:
        for include_resolved, limit in ((False, 20), (True, 20), (True, 2)):
            orm = queries.incidents(session, include_resolved=include_resolved, limit=limit)
            plain = reader.incidents(include_resolved=include_resolved, limit=limit)
            assert [i.id for i in plain] == [i.id for i in orm] and plain
        everything = queries.incidents(session, include_resolved=True, limit=1000)
        assert len(everything) >= 3 and any(i.acknowledged_by for i in everything)
        for incident in everything:
            record = reader.incident(incident.id or 0)
            assert isinstance(record, IncidentRecord)
            assert incident_json(record, NOW, reader.card(record)) == incident_json(
                incident, NOW, card_in(session, incident)
            )
            assert [entry_json(e) for e in reader.timeline(record.id)] == [
                entry_json(e) for e in queries.timeline(session, record.id)
            ]
        assert any(reader.card(reader.incident(i.id or 0) or record).streams for i in everything)
        assert [component_json(c) for c in reader.components()] == [
            component_json(c) for c in queries.components(session)
        ]
        keys = [(row.probe, None) for row in session.exec(select(models.ProbeState)).all()]
        assert keys and [s.json() for s in reader.probe_statuses(keys)] == [
            s.json() for s in probe_status.statuses(session, keys)
        ]
        assert reader.incident(10**6) is None
    database.dispose()


@pytest.mark.parametrize(
    ("command", "shows"),
    [(["status"], "#3"), (["incidents", "--all"], "#2"), (["show", "2"], "#2"), (["show", "2", "--json"], '"id": 2')],
)
def test_the_look_only_commands_never_load_sqlalchemy(demo_file: Path, command: list[str], shows: str) -> None:
    """What keeps them fast: SQLAlchemy and the tables alone take ~0.3 s to import."""
    probe = (
        "import runpy, sys\nsys.argv = ['statusbot', *sys.argv[1:]]\n"
        "try:\n    runpy.run_module('bot', run_name='__main__')\nexcept SystemExit as stop:\n    assert not stop.code\n"
        "print(sorted(m for m in ('sqlalchemy', 'sqlmodel', 'alembic', 'bot.store.models') if m in sys.modules))"
    )
    env = {"DATABASE_URL": f"sqlite:///{demo_file}", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", probe, *command], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]" and shows in done.stdout
