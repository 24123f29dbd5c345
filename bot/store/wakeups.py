"""PostgreSQL LISTEN/NOTIFY between replicas: a command handled by a follower wakes the leader's
delivery at once, and a leader that hands its lease over wakes the followers. Best effort by design:
a lost notification costs only the wait for the next outbox sweep or lease attempt.

SQLite has no such channel; there the sweep (`STATUSBOT_OUTBOX_SWEEP`) is the wake-up."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.store import urls
from bot.store.db import Database

log = logging.getLogger(__name__)
OUTBOX = "statusbot_outbox"
LEASE = "statusbot_lease"
RECONNECT = (1.0, 30.0)


def notify(db: Database, channel: str) -> None:
    """Tell every listening replica (no-op on SQLite). Never raises: the sweep is the fallback."""
    if not urls.is_postgres(db.url):
        return
    try:
        with db.engine.begin() as conn:
            conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
    except SQLAlchemyError as exc:
        log.debug("could not notify %s: %s", channel, exc)


class Listener:
    """One dedicated connection LISTENing on the channels, reconnecting with backoff."""

    def __init__(self, url: str, handlers: Mapping[str, Callable[[], None]]) -> None:
        self.url = make_url(urls.normalise(url)).set(drivername="postgresql").render_as_string(hide_password=False)
        self.handlers = dict(handlers)
        self.connected = asyncio.Event()

    async def run(self) -> None:
        import psycopg

        delay, failing = RECONNECT[0], False
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=5) as conn:
                    for channel in self.handlers:
                        await conn.execute(f'LISTEN "{channel}"')  # our own constant names
                    if failing:
                        log.info("wake-ups: listening again")
                    failing, delay = False, RECONNECT[0]
                    self.connected.set()
                    for handler in self.handlers.values():
                        handler()  # anything may have happened while we were not listening
                    async for note in conn.notifies():
                        self.handlers[note.channel]()
            except psycopg.Error as exc:
                self.connected.clear()
                if not failing:
                    log.warning(
                        "wake-ups: lost the LISTEN connection (%s); the sweep delivers meanwhile",
                        str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__,
                    )
                failing = True
                await asyncio.sleep(delay)
                delay = min(RECONNECT[1], delay * 2)
