"""`statusbot backfill`: import a page's older history through its paged JSON API, without posting."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.engine.incidents import IncidentEngine
from bot.sources.statuspage.client import StatuspageClient
from bot.sources.statuspage.parse import read_incidents

log = logging.getLogger(__name__)
PER_PAGE = 100


async def backfill(
    client: StatuspageClient,
    engine: IncidentEngine,
    service: str,
    since: datetime | None,
    progress: Callable[[int, int], None] = lambda page, count: None,
) -> int:
    """Walk `/api/v2/incidents.json?page=N` until a short page (or incidents older than `since`);
    every incident is recorded as history: no thread, no message. Returns how many were imported."""
    page, imported = 1, 0
    while True:
        document, _ = await client.fetch("/api/v2/incidents.json", params={"page": page, "per_page": PER_PAGE})
        listing = read_incidents(document.body, service)
        for rejected in listing.rejected:
            log.warning("%s", rejected.line())
        events = listing.events
        for event in events:
            if since is not None and event.started_at < since:
                continue
            engine.apply_incident(event, history=True)
            imported += 1
        progress(page, imported)
        older = since is not None and events and min(e.started_at for e in events) < since
        if len(events) + len(listing.rejected) < PER_PAGE or older:
            return imported
        page += 1
