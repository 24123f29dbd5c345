"""Database URLs as users write them, turned into the ones SQLAlchemy wants.

Heroku and most hosts hand out `postgres://…`, which SQLAlchemy 1.4+ refuses; a plain `postgresql://`
would pick psycopg2, which we do not ship. Both become `postgresql+psycopg://` (psycopg 3, the
`statusbot[postgres]` extra)."""

from __future__ import annotations

POSTGRES_DRIVER = "postgresql+psycopg"
_POSTGRES_SCHEMES = ("postgres", "postgresql", POSTGRES_DRIVER)


def normalise(url: str) -> str:
    scheme, sep, rest = url.partition("://")
    if sep and scheme in _POSTGRES_SCHEMES:
        return f"{POSTGRES_DRIVER}://{rest}"
    return url


def is_postgres(url: str) -> bool:
    return url.partition("://")[0] in _POSTGRES_SCHEMES


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def missing_driver(url: str) -> str | None:
    """Why a PostgreSQL URL cannot be used here (its driver does not load), or None. Said at once, not
    at the first query."""
    if not is_postgres(url):
        return None
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        return f"PostgreSQL needs the psycopg driver, which cannot be loaded ({exc}): pip install 'statusbot[postgres]'"
    return None
