"""Polls a page: summary.json (components, maintenance) and incidents.json (which keeps the final
`resolved` update that unresolved.json drops), conditionally (ETag / 304), with the shared backoff
while the page fails (bot/sources/source.py). While the JSON API keeps failing, the page's Atom feed
takes over (fallback.py)."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from bot.clock import Clock
from bot.engine.events import PageSnapshot
from bot.engine.incidents import Changes, IncidentEngine
from bot.jobs import every
from bot.metrics import Metrics
from bot.sources.source import Health, Tracker
from bot.sources.statuspage.client import FetchError, StatuspageClient
from bot.sources.statuspage.parse import SOURCE, ParseError, parse_summary, read_incidents
from bot.store.db import Database

log = logging.getLogger(__name__)


def log_changes(service: str, changes: Changes, via: str = "") -> None:
    """One line for what a read of the page changed (none when it changed nothing); `via`: `from the feed, `."""
    if changes.opened or changes.updated:
        log.info(
            "%s: %s%d opened, %d updated, %d new updates",
            service,
            via,
            len(changes.opened),
            len(changes.updated),
            changes.entries,
            extra={"source": SOURCE, "service": service},
        )


class StandIn(Protocol):
    """A reader that stands in while the JSON API fails (the Atom feed, fallback.py)."""

    active: bool

    def health(self) -> Health: ...


class StatuspagePoller:
    def __init__(
        self,
        client: StatuspageClient,
        engine: IncidentEngine,
        db: Database,
        service: str,
        interval: float,
        clock: Clock,
        metrics: Metrics | None = None,
        catchup: timedelta = timedelta(hours=6),
    ) -> None:
        self.metrics = metrics
        self.catchup = catchup
        self.client = client
        self.engine = engine
        self.db = db
        self.service = service
        self.interval = timedelta(seconds=interval)
        self.clock = clock
        self.key = f"statuspage:{client.base_url}"
        self.where = ("pages", service)
        self.tracker = Tracker(db, self.key, f"{service}: status page", self.interval, clock)
        self.fallback: StandIn | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._reported: set[str] = set()  # unreadable records already logged, while they stay so
        self._last: PageSnapshot | None = None  # the last snapshot applied, confirmed again by a 304

    @property
    def job_id(self) -> str:
        return f"poll:{self.service}"

    def start(self, scheduler: AsyncIOScheduler) -> None:
        self._scheduler = scheduler
        every(scheduler, self.job_id, self.db.outage.guard(self.poll), self.interval.total_seconds(), self.clock.now())

    def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.get_job(self.job_id) is not None:
            scheduler.remove_job(self.job_id)

    def health(self) -> Health:
        """Stale after ten intervals without a good poll (at least five minutes), unless the feed
        stands in and answers: a restart would not mend the vendor's API."""
        health = self.tracker.health(max(timedelta(minutes=5), 10 * self.interval))
        if self.fallback is not None and self.fallback.active and self.fallback.health().ok:
            return replace(health, ok=True)
        return health

    async def aclose(self) -> None:
        await self.client.aclose()

    async def poll(self) -> Changes | None:
        """One poll, unless backing off. Never raises for a bad page: logs one line, keeps its data."""
        now = self.clock.now()
        if not self.tracker.due():
            return None
        try:
            changes = await self._poll_once()
        except (FetchError, ParseError) as exc:
            self._failed(now, str(exc))
            return None
        except SQLAlchemyError:  # the database, not the page: the scheduler's wrapper says so once
            self.client.forget()  # so that the next poll applies this page again
            raise
        except Exception as exc:  # a bug or a database problem: say so, keep polling
            log.exception("%s: poll could not be applied", self.service)
            self.client.forget()
            self._failed(now, f"{type(exc).__name__}: {exc}")
            return None
        self._succeeded(now)
        return changes

    async def _poll_once(self) -> Changes:
        summary_doc, summary_changed = await self.client.fetch("/api/v2/summary.json")
        incidents_doc, incidents_changed = await self.client.fetch("/api/v2/incidents.json")
        if not (summary_changed or incidents_changed):  # 304s: the page still lists what it listed
            return self.engine.close_absent(self._last) if self._last is not None else Changes()
        try:
            return self._apply(summary_doc.body, incidents_doc.body)
        except ParseError:
            self.client.forget()
            raise

    def _apply(self, summary: object, incidents: object) -> Changes:
        snapshot = parse_summary(summary, self.service)
        listing = read_incidents(incidents, self.service)
        snapshot = replace(
            snapshot,
            incidents=listing.events,
            complete=snapshot.complete and listing.complete,
            rejected=snapshot.rejected + tuple(r.line() for r in listing.rejected),
        )
        self._report(snapshot.rejected)
        self._last = snapshot
        changes = self.engine.apply_snapshot(snapshot, baseline=self.needs_baseline())
        self._mark_baselined()
        for incident in changes.opened:
            log.info(
                "%s: incident #%s opened from the status page",
                self.service,
                incident,
                extra={"incident": incident, "source": SOURCE, "service": self.service},
            )
        if changes.history:
            log.info(
                "%s: recorded %d past incidents as history (nothing posted)",
                self.service,
                changes.history,
                extra={"source": SOURCE, "service": self.service},
            )
        log_changes(self.service, changes)
        return changes

    def _report(self, rejected: tuple[str, ...]) -> None:
        """Each unreadable record once (not on every poll that still carries it)."""
        for line in rejected:
            if line not in self._reported:
                log.warning(
                    "%s: %s; it counts as unknown (not vanished) until it can be read",
                    self.service,
                    line,
                    extra={"source": SOURCE, "service": self.service},
                )
        self._reported = set(rejected)

    def needs_baseline(self) -> bool:
        """First start, or back after a downtime longer than the catch-up window: what resolved
        meanwhile is history, recorded silently. A shorter gap is caught up: missed updates are posted."""
        state = self.tracker.state()
        if not state.baselined:
            return True
        last = state.last_success_at
        gap = self.clock.now() - last if last else timedelta(0)
        if gap > self.catchup:
            log.info(
                "%s: back after %s without a poll (longer than the catch-up window): incidents resolved "
                "meanwhile are recorded as history",
                self.service,
                gap,
            )
            return True
        return False

    def _mark_baselined(self) -> None:
        state = self.tracker.state()
        if not state.baselined:
            state.baselined = True
            self.tracker.save(state)

    def _succeeded(self, now: datetime) -> None:
        if self.metrics is not None:
            self.metrics.poll(self.service, True, now)
        self.tracker.succeeded()

    def _failed(self, now: datetime, error: str) -> None:
        if self.metrics is not None:
            self.metrics.poll(self.service, False, now)
        self.tracker.failed(error, source=SOURCE, service=self.service)
