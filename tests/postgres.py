"""A PostgreSQL server for the tests: each caller gets a database of its own, dropped afterwards.

The server is `STATUSBOT_TEST_DATABASE_URL` (any database on it; we only connect there to create and
drop ours), else the default address every machine of this project has. When none answers the
PostgreSQL tests skip with the reason, except under `CI=true`, where that is a failure: the path must
never go silently untested."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import pytest
from sqlalchemy.engine import make_url

from bot.store import urls

DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PREFIX = "statusbot_test_"


def server_url() -> str:
    return os.environ.get("STATUSBOT_TEST_DATABASE_URL") or DEFAULT_SERVER


def _libpq(url: str) -> str:
    """psycopg takes the plain libpq form, not SQLAlchemy's `+driver` one."""
    return make_url(urls.normalise(url)).set(drivername="postgresql").render_as_string(hide_password=False)


@cache
def unavailable() -> str | None:
    """Why no PostgreSQL can be used, or None when one answers."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install -e '.[test]')"
    try:
        psycopg.connect(_libpq(server_url()), connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"no PostgreSQL answers at {make_url(server_url()).render_as_string()}: {str(exc).strip()[:200]}"
    return None


def require() -> None:
    reason = unavailable()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but the PostgreSQL tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_libpq(server_url()), autocommit=True, connect_timeout=3) as conn:
        conn.execute(sql)  # type: ignore[arg-type]  # our own generated names, not user input


@contextmanager
def fresh_database() -> Iterator[str]:
    """A new, empty database; yields its SQLAlchemy URL and drops it (and its connections) after."""
    require()
    name = f"{PREFIX}{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield make_url(urls.normalise(server_url())).set(database=name).render_as_string(hide_password=False)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
