"""The throwaway source: polls a health endpoint; `{"ok": false}` opens an incident, `{"ok": true}`
recovers it, through the engine like any other stream."""

from __future__ import annotations

from datetime import timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.config import view
from bot.engine.incidents import IncidentEngine
from bot.engine.streams import Stream
from bot.jobs import every
from bot.sources.source import Context, Health, Source, Tracker
from tests.newsource.settings import NewSourceSettings

SOURCE = "newsource"


class HealthPoller:
    def __init__(self, context: Context, own: NewSourceSettings) -> None:
        assert own.newsource_url is not None
        self.url, self.engine = str(own.newsource_url), context.engine
        self.service = context.settings.effective_services()[0].name
        self.stream = Stream(f"{SOURCE}:health", SOURCE)
        self.key, self.where = f"{SOURCE}:{self.url}", ("newsource", self.service)
        self.interval = own.newsource_interval
        self.tracker = Tracker(context.db, self.key, "newsource", timedelta(seconds=self.interval), context.clock)
        self.http = httpx.AsyncClient(transport=context.transports.get(SOURCE))

    def start(self, scheduler: AsyncIOScheduler) -> None:
        every(scheduler, "newsource", self.poll, self.interval)

    def stop(self) -> None:
        return None

    async def poll(self) -> None:
        try:
            ok = bool((await self.http.get(self.url)).json()["ok"])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            self.tracker.failed(str(exc))
            return
        self.tracker.succeeded()
        engine: IncidentEngine = self.engine
        if ok:
            engine.stream_recovered(self.service, self.stream)
        else:
            engine.stream_failing(self.service, self.stream, engine.clock.now(), ["down"])

    def health(self) -> Health:
        return self.tracker.health(timedelta(minutes=5))

    async def aclose(self) -> None:
        await self.http.aclose()


def sources(context: Context) -> list[Source]:
    own = view(context.settings, NewSourceSettings)
    return [HealthPoller(context, own)] if own.newsource_url else []
