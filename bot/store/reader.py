"""Reads for the CLI's look-only commands (`status`, `incidents`, `show`), straight through the driver
(sqlite3, or psycopg for PostgreSQL) into plain records (`bot.store.records`).

Importing SQLAlchemy, SQLModel and the table classes takes ~0.3 s, most of what such a command may
take in all (0.4 s). These are the queries of `bot.store.queries`, `bot.engine.seen_by` and
`bot.store.probe_status`, with the same filters and order; tests/test_reader.py holds both to the same
output, on SQLite and PostgreSQL. The bot, which has the ORM loaded anyway, reads through it.

The connection never creates a database (SQLite's `mode=rw`) and writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, TypeVar, get_args, get_type_hints
from urllib.parse import quote

from bot.engine.views import IncidentCard, card, stream_view
from bot.store import urls
from bot.store.connection import BUSY_TIMEOUT_MS, POSTGRES_CONNECT
from bot.store.enums import Status
from bot.store.errors import sqlite_file
from bot.store.records import (
    TABLES,
    ComponentRecord,
    EntryRecord,
    IncidentRecord,
    ProbeStateRecord,
    ResultRecord,
    StreamRecord,
)
from bot.store.stream_status import StreamStatus, status_of

R = TypeVar("R")


class Reader:
    """Read-only queries over one DB-API connection: sqlite3's (`?` placeholders, JSON as text) or
    psycopg's (`%s`, JSON parsed)."""

    def __init__(self, connection: Any, sqlite: bool) -> None:
        self.connection = connection
        self.sqlite = sqlite

    @classmethod
    @contextmanager
    def open(cls, url: str) -> Iterator[Reader]:
        connection = _connect(url)
        try:
            yield cls(connection, sqlite=sqlite_file(url) is not None)
        finally:
            connection.close()

    def components(self) -> list[ComponentRecord]:
        return self._rows(ComponentRecord, order="service, position")

    def incidents(self, *, include_resolved: bool = False, limit: int = 20) -> list[IncidentRecord]:
        where, params = ("", ()) if include_resolved else ("status != ?", (Status.RESOLVED.value,))
        return self._rows(IncidentRecord, where, params, order="started_at DESC, id DESC", limit=limit)

    def incident(self, number: int) -> IncidentRecord | None:
        found = self._rows(IncidentRecord, "id = ?", (number,))
        return found[0] if found else None

    def timeline(self, number: int) -> list[EntryRecord]:
        return self._rows(EntryRecord, "incident_id = ?", (number,), order="at, id")

    def streams(self, number: int) -> list[StreamRecord]:
        """The streams that saw the incident, first first (`seen_by.of_incident`)."""
        return self._rows(StreamRecord, "incident_id = ?", (number,), order="first_seen, stream")

    def card(self, incident: IncidentRecord) -> IncidentCard:
        """The card with the streams that saw the incident (`live_cards.card_in`)."""
        return card(incident, streams=tuple(stream_view(row) for row in self.streams(incident.id)))

    def probe_statuses(self, streams: Iterable[tuple[str, str | None]]) -> list[StreamStatus]:
        """The status of each (stream key, model), in the order given (`probe_status.statuses`)."""
        found = []
        for key, model in streams:
            state = self._rows(ProbeStateRecord, "probe = ?", (key,))
            last = self._rows(ResultRecord, "probe = ?", (key,), order="id DESC", limit=1)
            found.append(status_of(key, model, state[0].state if state else {}, last[0] if last else None))
        return found

    def _rows(
        self, record: type[R], where: str = "", params: tuple[Any, ...] = (), order: str = "", limit: int | None = None
    ) -> list[R]:
        names, convert = _columns(record, self.sqlite)
        sql = f"SELECT {', '.join(names)} FROM {TABLES[record]}"
        sql += f" WHERE {where}" if where else ""
        sql += f" ORDER BY {order}" if order else ""
        if limit is not None:
            sql, params = f"{sql} LIMIT ?", (*params, limit)
        cursor = self.connection.cursor()
        try:
            cursor.execute(sql if self.sqlite else sql.replace("?", "%s"), params)
            return [record(*(f(v) for f, v in zip(convert, row, strict=True))) for row in cursor.fetchall()]
        finally:
            cursor.close()


def _connect(url: str) -> Any:
    file = sqlite_file(url)
    if file is not None:
        import sqlite3

        uri = f"file:{quote(str(file))}?mode=rw"  # an existing file only: never a new database
        return sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    if urls.is_postgres(url):
        import psycopg

        conninfo = "postgresql://" + url.partition("://")[2]
        return psycopg.connect(conninfo, autocommit=True, **POSTGRES_CONNECT)  # type: ignore[arg-type]
    raise ValueError(f"not a sqlite:/// or postgresql:// URL: {url.partition('://')[0]}://…")


_COLUMNS: dict[tuple[type, bool], tuple[tuple[str, ...], tuple[Any, ...]]] = {}


def _columns(record: type, sqlite: bool) -> tuple[tuple[str, ...], tuple[Any, ...]]:
    """A record's columns (its fields) and how each value comes from the driver (worked out once)."""
    if (record, sqlite) not in _COLUMNS:
        hints = get_type_hints(record)
        converters = tuple(_converter(hints[f.name], sqlite) for f in fields(record))
        _COLUMNS[record, sqlite] = tuple(f.name for f in fields(record)), converters
    return _COLUMNS[record, sqlite]


def _converter(hint: Any, sqlite: bool) -> Any:
    kinds = set(get_args(hint)) or {hint}
    if datetime in kinds:
        return _utc
    if bool in kinds:
        return bool  # SQLite's 0/1
    if sqlite and getattr(hint, "__origin__", None) in (list, dict):
        return _json  # psycopg has parsed JSON already
    return _same


def _utc(value: Any) -> datetime | None:
    """SQLite hands back the text SQLAlchemy stored (naive UTC); psycopg a naive datetime."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _json(value: Any) -> Any:
    return None if value is None else json.loads(value)


def _same(value: Any) -> Any:
    return value
