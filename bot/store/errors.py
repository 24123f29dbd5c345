"""Database failures said in one line a person can act on — a missing or read-only folder, a file
that is not there, a schema that is missing or older, another process holding the lock — instead of
a driver's traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.problems import RUNTIME, USAGE, Problem

UPGRADE = "run `statusbot db upgrade` (or start `statusbot run`, which does it)"


def sqlite_file(url: str) -> Path | None:
    """The file a sqlite:/// URL names, made absolute; None for other databases and in-memory ones."""
    if not url.startswith("sqlite:"):
        return None
    path = url.split(":///", 1)[1].split("?", 1)[0] if ":///" in url else ""
    return None if path in ("", ":memory:") else Path(path).expanduser().absolute()


def shown_url(url: str) -> str:
    """The URL without its password, for messages."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
    except ValueError:  # an unparsable URL: say only its scheme
        return url.split("://", 1)[0] + "://…"
    userinfo, host = parts.netloc.rsplit("@", 1)
    return parts._replace(netloc=f"{userinfo.split(':', 1)[0]}:***@{host}").geturl()


def describe(exc: Exception) -> str:
    """A database error in one line, without SQLAlchemy's background link or the statement."""
    return (str(getattr(exc, "orig", None) or exc).strip() or type(exc).__name__).splitlines()[0][:200]


def require_existing(url: str) -> None:
    """Reading commands never create a database: a SQLite file that is not there is said so."""
    file = sqlite_file(url)
    if file is not None and not file.is_file():
        raise Problem(
            f"there is no database at {file}: start `statusbot run` once, or run `statusbot db upgrade`, "
            "or point DATABASE_URL at an existing one"
        )


def explain(exc: BaseException, url: str) -> Problem:
    """One line for a database error (SQLAlchemy's DBAPIError, or sqlite3's or psycopg's own)."""
    text = describe(exc) if isinstance(exc, Exception) else type(exc).__name__
    file = sqlite_file(url)
    if file is not None:
        return _sqlite(text, file) or Problem(f"the database {file} failed: {text}")
    if "password authentication" in text or "does not exist" in text or "connect" in text:
        return Problem(f"cannot use the database {shown_url(url)}: {text} — check DATABASE_URL")
    return Problem(f"the database {shown_url(url)} failed: {text}")


def _sqlite(text: str, file: Path) -> Problem | None:
    folder = file.parent
    lowered = text.lower()
    if "unable to open database file" in lowered or "readonly database" in lowered:
        if not folder.is_dir():
            return Problem(
                f"the database folder {folder} does not exist: create it (or mount its volume), "
                "or point DATABASE_URL elsewhere",
                USAGE,
            )
        if not os.access(folder, os.W_OK | os.X_OK):
            return Problem(
                f"the database folder {folder} is read-only: SQLite writes its journal beside the database, "
                "so make the folder writable, or point DATABASE_URL elsewhere"
            )
        if file.exists() and not os.access(file, os.R_OK | os.W_OK):
            return Problem(f"{file} is not readable and writable by this user: fix its permissions")
        return None
    if "no such table" in lowered or "no such column" in lowered:
        return Problem(f"{file} has no statusbot schema, or an older one: {UPGRADE}")
    if "database is locked" in lowered:
        return Problem(f"{file} is locked by another process (waited 5 s): try again", RUNTIME)
    if "file is not a database" in lowered:
        return Problem(f"{file} is not a SQLite database: point DATABASE_URL at statusbot's database", USAGE)
    return None


def is_database_error(exc: BaseException) -> bool:
    import sqlite3

    if isinstance(exc, sqlite3.Error):
        return True
    psycopg, dbapi = sys.modules.get("psycopg"), sys.modules.get("sqlalchemy.exc")
    return (psycopg is not None and isinstance(exc, psycopg.Error)) or (
        dbapi is not None and isinstance(exc, dbapi.DBAPIError)
    )


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Database failures inside the block come out as one-line Problems."""
    try:
        yield
    except Exception as exc:
        if not is_database_error(exc):
            raise
        raise explain(exc, url) from None
