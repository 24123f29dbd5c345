"""The Statuspage sources: per watched service, the JSON API poller and its Atom-feed fallback."""

from __future__ import annotations

from datetime import timedelta

from bot.sources.source import Context, Source
from bot.sources.statuspage.client import StatuspageClient
from bot.sources.statuspage.fallback import FeedFallback
from bot.sources.statuspage.poller import StatuspagePoller

KIND = "statuspage"


def sources(context: Context) -> list[Source]:
    settings, transport = context.settings, context.transports.get(KIND)
    built: list[Source] = []
    for service in settings.effective_services():
        poller = StatuspagePoller(
            StatuspageClient(service.page_base, settings.http_timeout, transport),
            context.engine,
            context.db,
            service.name,
            settings.poll_interval,
            context.clock,
            context.metrics,
            timedelta(hours=settings.catchup_hours),
        )
        poller.fallback = FeedFallback(
            poller, StatuspageClient(service.page_base, settings.http_timeout, transport), context.engine
        )
        built += [poller, poller.fallback]
    return built
