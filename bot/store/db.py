"""Engine set-up (the only engine-specific code) and schema upgrades through Alembic (loaded only for them)."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlmodel import Session, create_engine

from bot.store import urls
from bot.store.connection import BUSY_TIMEOUT_MS, POSTGRES_CONNECT
from bot.store.errors import describe

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)
# The bot is one event loop: units of work run one at a time, plus a few in threads (the lease,
# postmortem drafts, doctor checks). 5 connections, 5 more at a peak, per replica.
POOL_SIZE, POOL_OVERFLOW, POOL_TIMEOUT, POOL_RECYCLE = 5, 5, 10.0, 1800


def make_engine(url: str, foreign_keys: bool = True) -> Engine:
    """`foreign_keys=False` is for migrations: SQLite alters a table by copying it, which a table
    referencing it would otherwise block. Migrations also get real transactional DDL on SQLite (see
    `_transactional_ddl`), so `kill -9` in the middle of one leaves the schema as it was before it."""
    url = urls.normalise(url)
    if urls.is_sqlite(url):  # SQLite creates the file, never its folder: a missing volume is said so
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_pragmas if foreign_keys else _sqlite_pragmas_no_fk)
        if not foreign_keys:
            _transactional_ddl(engine)
        return engine
    return create_engine(
        url,
        pool_pre_ping=True,  # a connection the server dropped (restart, failover) is replaced, not used
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=POOL_TIMEOUT,
        pool_recycle=POOL_RECYCLE,
        connect_args=POSTGRES_CONNECT,
    )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, foreign_keys: bool = True) -> None:
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cursor.close()


def _transactional_ddl(engine: Engine) -> None:
    """Python's sqlite3 begins a transaction only before INSERT/UPDATE/DELETE, so CREATE, DROP and
    ALTER commit one by one: a migration killed half-way left a table copied but not renamed, or a
    column added with the revision unchanged, and the next upgrade failed on it. With the driver's
    own transaction handling off and an explicit BEGIN, the whole upgrade commits once (SQLAlchemy's
    documented recipe for pysqlite)."""

    @event.listens_for(engine, "connect")
    def _no_implicit_transactions(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_pragmas_no_fk(dbapi_conn: Any, record: Any) -> None:
    _sqlite_pragmas(dbapi_conn, record, foreign_keys=False)


class Database:
    """Owns the engine; hands out one short session per unit of work."""

    def __init__(self, url: str) -> None:
        self.url = urls.normalise(url)
        self.engine = make_engine(url)
        self.outage = Outage()
        event.listen(self.engine, "checkout", self.outage.answered)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    def upgrade(self) -> None:
        """Migrate to the newest schema. When it is already there (the usual start: the release phase
        ran `db upgrade`), Alembic is not even imported, which keeps ~11 MiB out of the bot."""
        if self.revisions() != {head_revision()}:
            upgrade(self.url)

    def revisions(self) -> set[str]:
        """The schema revisions recorded in the database (none for a new one)."""
        try:
            with self.engine.connect() as conn:
                return {row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version"))}
        except DBAPIError:  # no alembic_version table yet
            return set()

    def dispose(self) -> None:
        self.engine.dispose()


class Outage:
    """One log line when the database stops answering and one when it answers again, however many
    units of work fail in between (each is retried by its own loop: the next poll, the next kick).

    Only work that reached the database can say it answers again: a job that finished without
    touching it (a fallback feed that is not active, a delivery with every chat down) proves
    nothing, and would otherwise make the two lines flap on every run during an outage. Reaching it
    is counted by the pool handing out a connection (after its pre-ping, on PostgreSQL)."""

    def __init__(self) -> None:
        self.since: float | None = None
        self.answers = 0  # connections the pool handed out

    def answered(self, *_pool_event: object) -> None:
        self.answers += 1

    def failed(self, where: str, exc: Exception) -> None:
        if self.since is None:
            self.since = time.monotonic()
            problem = describe(exc)
            log.warning("database unreachable (%s, in %s); retrying", problem, where)

    def recovered(self, answers_before: int) -> None:
        """Work that began when `answers` was `answers_before` has succeeded."""
        if self.since is not None and self.answers > answers_before:
            log.info("database reachable again after %.0fs", time.monotonic() - self.since)
            self.since = None

    def guard(self, work: Callable[[], Awaitable[object]]) -> Callable[[], Awaitable[None]]:
        """A scheduled job whose database errors are this one line; its next run is the retry."""

        async def job() -> None:
            before = self.answers
            try:
                await work()
            except SQLAlchemyError as exc:
                self.failed(getattr(work, "__qualname__", "a scheduled job"), exc)
            else:
                self.recovered(before)

        return job


def migrations_dir() -> Path:
    return Path(str(resources.files("bot.migrations")))


def alembic_config(url: str) -> Config:
    from alembic.config import Config  # Alembic loads only when the schema is checked or changed

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", urls.normalise(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


_REVISION = re.compile(r"^(down_)?revision(?:\s*:[^=]+)?=\s*(?:\"([^\"]*)\"|'([^']*)'|None)", re.M)


@cache
def head_revision() -> str | None:
    """The newest migration, read from the files' `revision` / `down_revision` lines without loading
    Alembic (tests check it against Alembic's own answer). None when there is not exactly one head."""
    revisions: list[str] = []
    parents: set[str] = set()
    for script in (migrations_dir() / "versions").glob("[0-9]*.py"):
        for down, double, single in _REVISION.findall(script.read_text(encoding="utf-8")):
            value = double or single
            if value and down:
                parents.add(value)
            elif value:
                revisions.append(value)
    heads = set(revisions) - parents
    unique = len(set(revisions)) == len(revisions)  # two files claiming one revision: let Alembic say so
    return heads.pop() if unique and len(heads) == 1 else None


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with make_engine(url).connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
