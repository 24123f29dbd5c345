"""PostgreSQL as the store of a running bot: a dropped connection, moving a SQLite database over with
`statusbot db copy`, and `db backup` pointing at pg_dump."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from bot.app import StatusBot
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock
from bot.demo.scenario import Scenario
from bot.store.db import Database
from bot.store.models import Incident, OutboxMessage, TimelineEntry
from tests.conftest import make_settings
from tests.fakes.statuspage import FakeStatuspage
from tests.processes import cli


def drop_connections(url: str) -> int:
    """What a server restart or a failover of the database does to every open connection."""
    admin = Database(url)
    with admin.engine.connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
    admin.dispose()
    return int(killed)


async def test_a_dropped_connection_is_replaced_not_a_crash(
    pg_url: str, page: FakeStatuspage, clock: ManualClock, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    scenario = Scenario.load()
    out = io.StringIO()
    bot = StatusBot(
        make_settings(pg_url, page.base_url), clock=clock, sinks={"console": ConsoleSink(out, colour=False)}
    )
    bot.db.upgrade()
    try:
        minutes = [0, *scenario.moments()]
        page.serve_scenario(scenario, minutes[1])
        await bot.poller.poll()
        await bot.worker.drain()
        assert drop_connections(pg_url) >= 1  # the pool holds connections the server has now closed
        page.serve_scenario(scenario, minutes[3])
        await bot.poller.poll()
        await bot.worker.drain()
    finally:
        await bot.stop()
    assert "Traceback" not in caplog.text
    lines = out.getvalue().splitlines()
    updates = scenario.data["incident"]["updates"]
    assert sum(line.startswith("● ") for line in lines) == 1
    assert sum(line.startswith("    #") for line in lines) == sum(u["at"] <= minutes[3] for u in updates)


def test_db_copy_moves_a_sqlite_database_to_postgresql(pg_url: str, tmp_path: Path) -> None:
    source = f"sqlite:///{tmp_path / 'old.db'}"
    env = {**os.environ, "DATABASE_URL": source}
    _fill(source)
    done = cli(env, "db", "copy", "--to", pg_url.replace("postgresql+psycopg://", "postgres://"))
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].endswith("every count matches")
    assert "incident: 1 rows" in done.stdout and "timeline_entry: 2 rows" in done.stdout
    target = Database(pg_url)
    with target.session() as session:
        assert session.exec(select(Incident.title)).one() == "Elevated errors"
        assert session.exec(select(func.count()).select_from(TimelineEntry)).one() == 2
        session.add(_incident("After the move"))  # the id sequence is past the copied ids
        session.commit()
    target.dispose()
    again = cli(env, "db", "copy", "--to", pg_url)
    assert again.returncode == 1 and again.stderr.count("\n") == 1
    assert "already holds data" in again.stderr


def test_db_backup_on_postgresql_says_to_use_pg_dump(pg_url: str, tmp_path: Path) -> None:
    done = cli({**os.environ, "DATABASE_URL": pg_url}, "db", "backup", str(tmp_path / "copy.db"))
    assert done.returncode == 2 and "pg_dump" in done.stderr and done.stderr.count("\n") == 1


def _incident(title: str) -> Incident:
    from datetime import UTC, datetime

    at = datetime(2026, 4, 15, 13, 0, tzinfo=UTC)
    return Incident(
        service="claude", source="statuspage", title=title, status="investigating",
        started_at=at, detected_at=at, updated_at=at,
    )  # fmt: skip


def _fill(url: str) -> None:
    database = Database(url)
    database.upgrade()
    with database.session() as session:
        incident = _incident("Elevated errors")
        session.add(incident)
        session.flush()
        assert incident.id is not None
        for n in range(2):
            entry = TimelineEntry(
                incident_id=incident.id, at=incident.started_at, recorded_at=incident.started_at,
                kind="vendor_update", source="statuspage", upstream_id=f"u{n}", body=f"update {n}",
            )  # fmt: skip
            session.add(entry)
        session.add(
            OutboxMessage(
                sink="console", incident_id=incident.id, action="open",
                created_at=incident.started_at, next_attempt_at=incident.started_at,
            )
        )  # fmt: skip
        session.commit()
    database.dispose()


def _allow_connections(url: str, allowed: bool) -> None:
    from sqlalchemy.engine import make_url

    from tests import postgres

    name = make_url(url).database
    admin = Database(postgres.server_url())
    with admin.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS {str(allowed).lower()}'))
        if not allowed:
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"), {"n": name})
    admin.dispose()


async def test_a_database_outage_is_one_log_line_and_the_loops_carry_on(
    pg_url: str, page: FakeStatuspage, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    import asyncio

    caplog.set_level(logging.INFO, logger="bot")
    bot = StatusBot(make_settings(pg_url, page.base_url), clock=clock, sinks={"console": ConsoleSink(io.StringIO())})
    bot.db.upgrade()
    poll = bot.db.outage.guard(bot.poller.poll)
    delivery = asyncio.create_task(bot.worker.run())
    try:
        await poll()
        _allow_connections(pg_url, False)  # the server refuses us, as during a failover of the database
        for _ in range(3):
            await poll()
            bot.worker.kick()
            await asyncio.sleep(0.05)
        assert not delivery.done()
        _allow_connections(pg_url, True)
        await poll()
    finally:
        _allow_connections(pg_url, True)
        delivery.cancel()
        await bot.stop()
    assert sum("database unreachable" in r.getMessage() for r in caplog.records) == 1
    assert sum("database reachable again" in r.getMessage() for r in caplog.records) == 1
    assert "Traceback" not in caplog.text


async def test_a_write_by_another_process_wakes_the_leader_through_notify(pg_url: str, page: FakeStatuspage) -> None:
    """`statusbot ack` in a shell (a follower's write would do the same): with the sweep ten minutes
    away, only PostgreSQL's NOTIFY can get the acknowledgment posted."""
    import asyncio

    from tests.processes import wait_for

    scenario = Scenario.load()
    page.serve_scenario(scenario, scenario.moments()[0])
    out = io.StringIO()
    settings = make_settings(pg_url, page.base_url, outbox_sweep_interval=600, port=0, host="127.0.0.1")
    bot = StatusBot(settings, sinks={"console": ConsoleSink(out, colour=False)})  # real time, as the shell's
    await bot.start()
    try:
        assert bot.role == "leader"
        await bot.poller.poll()
        await wait_for(lambda: "● #" in out.getvalue(), "the thread")
        with bot.db.session() as session:
            opened = session.exec(select(Incident.id).where(Incident.announced)).one()
        env = {**os.environ, "DATABASE_URL": pg_url, "STATUSBOT_CONSOLE": "true"}
        acked = await asyncio.to_thread(cli, env, "ack", str(opened), "--by", "bob")
        assert acked.returncode == 0, acked.stderr
        await wait_for(lambda: "Acknowledged by bob" in out.getvalue(), "the ack, woken by NOTIFY")
    finally:
        await bot.stop()
