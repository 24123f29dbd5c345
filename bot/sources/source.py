"""The one shape every polled status source has, and the bookkeeping they all share.

A `Source` starts (schedules its work on the leader's scheduler), stops (when this replica stops
leading; it may start again), reports its `health` (under `where` in /healthz) and closes its
connections. The sources a bot runs are built from bot/sources/registry.py, one line per kind (its
sources.py). Each keeps its
bookkeeping in a `Tracker`: one `SourceState` row (last success, failures in a row, last error, the
first silent import) and the backoff after failures: the n-th failure in a row waits
interval · 2^(n-1) before the next try, at most `MAX_BACKOFF`. A failure is one warning line; the
first success after failures is one info line.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.config import Settings
from bot.engine.incidents import IncidentEngine
from bot.metrics import Metrics
from bot.sources.kind import source_kinds
from bot.store.db import Database
from bot.store.models import SourceState

log = logging.getLogger(__name__)
MAX_BACKOFF = timedelta(minutes=10)


@dataclass(frozen=True)
class Health:
    ok: bool
    last_success: datetime | None
    failures: int
    last_error: str | None = None

    def json(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "last_success": self.last_success.isoformat() if self.last_success else None,
            "failures": self.failures,
        }


class Source(Protocol):
    key: str  # its SourceState row
    where: tuple[str, str]  # its place in /healthz: (section, name), e.g. ("pages", "claude")

    def start(self, scheduler: AsyncIOScheduler) -> None: ...

    def stop(self) -> None: ...

    def health(self) -> Health: ...

    async def aclose(self) -> None: ...


class Tracker:
    def __init__(self, db: Database, key: str, label: str, interval: timedelta, clock: Clock) -> None:
        self.db, self.key, self.label, self.interval, self.clock = db, key, label, interval, clock
        self.started_at = clock.now()
        self._next_try: datetime | None = None
        self._failures: int | None = None  # a copy of the row's count, read once

    def state(self) -> SourceState:
        with self.db.session() as session:
            return session.get(SourceState, self.key) or SourceState(key=self.key)

    def save(self, state: SourceState) -> None:
        with self.db.session() as session:
            session.merge(state)
            session.commit()

    def due(self) -> bool:
        """Not backing off after a failure."""
        return self._next_try is None or self.clock.now() >= self._next_try

    @property
    def failing(self) -> int:
        """Failures in a row (0 while all is well)."""
        if self._failures is None:
            self._failures = self.state().failures
        return self._failures

    def succeeded(self) -> None:
        state = self.state()
        if state.failures:
            log.info("%s: reachable again after %d failed tries", self.label, state.failures)
        state.last_success_at, state.failures, state.last_error = self.clock.now(), 0, None
        self._next_try, self._failures = None, 0
        self.save(state)

    def failed(self, error: str, **extra: object) -> timedelta:
        """Records the failure, logs one line, and returns how long until the next try."""
        backoff = self.record_failure(error)
        log.warning(
            "%s: failed (%d in a row, next try in %ds): %s",
            self.label,
            self.failing,
            backoff.total_seconds(),
            error,
            extra=extra,
        )
        return backoff

    def record_failure(self, error: str) -> timedelta:
        """`failed` without the log line (for a caller that logs more, such as a traceback)."""
        now, state = self.clock.now(), self.state()
        state.failures += 1
        state.last_failure_at, state.last_error = now, error[:500]
        self._failures = state.failures
        backoff = min(self.interval * 2.0 ** min(state.failures - 1, 10), MAX_BACKOFF)
        self._next_try = now + backoff - self.interval  # the scheduler's next tick comes an interval later
        self.save(state)
        return backoff

    def health(self, stale_after: timedelta) -> Health:
        """Unhealthy once nothing has succeeded for `stale_after` (counted from start-up at first)."""
        state = self.state()
        last = state.last_success_at
        fresh = (last or self.started_at) > self.clock.now() - stale_after
        return Health(fresh, last, state.failures, state.last_error)


@dataclass(frozen=True)
class Context:
    """What a kind of source is built from."""

    settings: Settings
    engine: IncidentEngine
    db: Database
    clock: Clock
    metrics: Metrics
    transports: Mapping[str, httpx.AsyncBaseTransport | None]  # by kind (tests: loopback transports)


def build_sources(context: Context) -> list[Source]:
    """Every registered kind's sources, in the registry's order."""
    return [source for kind in source_kinds() for source in kind.sources(context)]
