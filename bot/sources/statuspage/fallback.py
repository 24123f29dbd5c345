"""The page's Atom feed (`/history.atom`) as the fallback while its JSON API keeps failing.

A Statuspage serves the same incidents as HTML, JSON and Atom; when the JSON API fails
`FALLBACK_AFTER` polls in a row (an API outage, a CDN answering HTML error pages) and the feed
still answers, the feed's incidents are applied instead, so updates keep reaching the threads. The
feed knows no components and no impact (those stay as the JSON API last said) and lists only recent
history, so it never closes anything that is missing from it. Updates the two readers both see are
recorded once (the engine matches them by minute and words, as their ids differ). As soon as the
JSON API answers again the feed is left alone. It is a `Source` with its own backoff and health.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.engine.core import Changes
from bot.engine.incidents import IncidentEngine
from bot.jobs import every
from bot.sources.source import Health, Tracker
from bot.sources.statuspage.client import FetchError, StatuspageClient
from bot.sources.statuspage.feed import parse_atom
from bot.sources.statuspage.parse import SOURCE, ParseError
from bot.sources.statuspage.poller import StatuspagePoller, log_changes

log = logging.getLogger(__name__)
FALLBACK_AFTER = 3  # JSON polls failed in a row before the feed is read
FEED = "/history.atom"


class FeedFallback:
    def __init__(self, primary: StatuspagePoller, client: StatuspageClient, engine: IncidentEngine) -> None:
        self.primary, self.client, self.engine = primary, client, engine
        self.service, self.interval = primary.service, primary.interval
        self.key = f"statuspage-feed:{client.base_url}"
        self.where = ("feeds", self.service)
        self.tracker = Tracker(primary.db, self.key, f"{self.service}: status feed", self.interval, primary.clock)
        self.active = False
        self._scheduler: AsyncIOScheduler | None = None

    @property
    def job_id(self) -> str:
        return f"feed:{self.service}"

    def start(self, scheduler: AsyncIOScheduler) -> None:
        self._scheduler = scheduler
        seconds = self.interval.total_seconds()
        every(scheduler, self.job_id, self.primary.db.outage.guard(self.poll), seconds, self.primary.clock.now())

    def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.get_job(self.job_id) is not None:
            scheduler.remove_job(self.job_id)

    def health(self) -> Health:
        """Healthy unless it is needed (the JSON API is failing) and failing too."""
        health = self.tracker.health(max(timedelta(minutes=5), 10 * self.interval))
        return health if self.active else Health(True, health.last_success, health.failures)

    async def aclose(self) -> None:
        await self.client.aclose()

    async def poll(self) -> Changes | None:
        """Read the feed if the JSON API keeps failing; None when not needed or backing off."""
        if self.primary.tracker.failing < FALLBACK_AFTER:
            if self.active:
                log.info("%s: the JSON API answers again; the feed is no longer read", self.service)
            self.active = False
            return None
        if not self.active:
            log.warning(
                "%s: the JSON API failed %d polls in a row; reading %s%s meanwhile",
                self.service,
                self.primary.tracker.failing,
                self.client.base_url,
                FEED,
                extra={"source": SOURCE, "service": self.service},
            )
            self.active = True
        if not self.tracker.due():
            return None
        try:
            changes = await self._read()
        except (FetchError, ParseError) as exc:
            self.tracker.failed(str(exc), source=SOURCE, service=self.service)
            return None
        self.tracker.succeeded()
        return changes

    async def _read(self) -> Changes:
        document, changed = await self.client.fetch_feed(FEED)
        changes = Changes()
        if not changed:
            return changes
        try:
            events = parse_atom(document.body, self.service)
        except ParseError:
            self.client.forget()
            raise
        baseline, last_ok = self.primary.needs_baseline(), self.primary.tracker.state().last_success_at
        for event in sorted(events, key=lambda e: (e.started_at, e.upstream_id)):
            # Resolved while the JSON API still answered: history its list had no room for, not news.
            history = event.is_resolved and last_ok is not None and (event.resolved_at or event.started_at) < last_ok
            changes.merge(self.engine.apply_incident(event, baseline=baseline, history=history))
        log_changes(self.service, changes, via="from the feed, ")
        return changes
