"""Builds the one process: store, engine, sources, delivery, HTTP server, all on one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING

import httpx
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError

from bot.chat.base import Sink
from bot.chat.console.sink import ConsoleSink
from bot.chat.room import build_platforms, configured, console_wanted
from bot.clock import Clock, SystemClock
from bot.commands.context import Services
from bot.config import Settings, view
from bot.delivery.worker import DeliveryWorker
from bot.engine.in_use import ModelsInUse
from bot.engine.incidents import IncidentEngine
from bot.engine.probes import ProbeMap
from bot.engine.reminders import ReminderPolicy
from bot.jobs import every
from bot.leadership import Leadership, replica_id
from bot.metrics import Metrics
from bot.postmortem.chart_worker import ChartWorker
from bot.problems import Problem
from bot.sources.alertmanager.route import AlertmanagerRoute
from bot.sources.alertmanager.settings import AlertmanagerSettings
from bot.sources.probes.retention import prune
from bot.sources.probes.runner import ProbeRunner
from bot.sources.signals.job import TrafficDetector
from bot.sources.signals.retention import prune as prune_traffic
from bot.sources.signals.route import SignalRoute
from bot.sources.signals.settings import SignalSettings
from bot.sources.source import Context, build_sources
from bot.sources.statuspage.fallback import FeedFallback
from bot.sources.statuspage.poller import StatuspagePoller
from bot.store import queries, urls, wakeups
from bot.store.db import Database
from bot.store.errors import describe
from bot.store.lease import Lease
from bot.store.outbox import depth
from bot.store.retention import forget_resolved
from bot.store.wakeups import Listener
from bot.web import build_web_app

if TYPE_CHECKING:
    from bot.postmortem.draft import Draft

log = logging.getLogger(__name__)
REMINDER_TICK = 30
OUTBOX_STUCK = timedelta(minutes=15)


def sink_names(settings: Settings) -> list[str]:
    """The sinks a running bot delivers to (the CLI writes outbox rows for the same ones)."""
    return (["console"] if console_wanted(settings) else []) + [room.name for room in configured(settings)]


def _listen_problem(exc: OSError, host: str, port: int) -> Problem:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return Problem(f"port {port} is already in use on {host}: stop the other process, or set PORT to a free port")
    if exc.errno == errno.EACCES:
        return Problem(f"cannot listen on {where}: permission denied (ports below 1024 need privileges); set PORT")
    if exc.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT) or isinstance(exc, socket.gaierror):
        return Problem(
            f"cannot listen on {where}: {exc.strerror or exc}; set STATUSBOT_HOST to an address of this machine"
        )
    return Problem(f"cannot listen on {where}: {exc.strerror or exc}")


class StatusBot:
    def __init__(
        self,
        settings: Settings,
        clock: Clock | None = None,
        sinks: Mapping[str, Sink] | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        probe_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings = settings
        self.clock = clock or SystemClock()
        self.db = Database(settings.database_url)
        self.metrics = Metrics()
        self.charts = ChartWorker()
        self.metrics.watch_database(self._database_gauges)
        self.platforms = build_platforms(settings, self.clock)
        if sinks is None:
            sinks = {p.name: p.sink for p in self.platforms}
            if console_wanted(settings):
                sinks = {"console": ConsoleSink(folder=settings.postmortem_dir), **sinks}
        self.sinks = dict(sinks)
        self.worker = DeliveryWorker(self.db, self.sinks, self.clock, drafts=self.draft, metrics=self.metrics)
        probe_components = settings.probe_components()
        probe_map = ProbeMap(probe_components)
        policy = ReminderPolicy.parse(
            settings.remind_every, settings.escalate_after, settings.quiet_hours, settings.timezone
        )
        self.engine = IncidentEngine(
            self.db,
            list(self.sinks),
            self.clock,
            on_commit=self._committed,
            probes=probe_map,
            reminder_policy=policy,
            auto_resolve=settings.auto_resolve,
            models_in_use=ModelsInUse(*settings.models_used()),
        )
        services = settings.effective_services()
        self.services = Services(
            self.db,
            self.engine,
            self.clock,
            services[0].name,
            services[0].slash,
            services[0].page_base,
            probe_components,
            self.metrics,
            {s.name: s.page_base for s in services},
            probe_streams=tuple(settings.probe_streams()),
        )
        for platform in self.platforms:
            platform.bind(self.services)
        transports = {"statuspage": transport, "probes": probe_transport}
        context = Context(settings, self.engine, self.db, self.clock, self.metrics, transports)
        self.sources = build_sources(context)
        # the Statuspage pollers and the probe runner by name, for the start-up line and the tests
        self.pollers = [s for s in self.sources if isinstance(s, StatuspagePoller)]
        self.feeds = [s for s in self.sources if isinstance(s, FeedFallback)]
        self.probes = next(s for s in self.sources if isinstance(s, ProbeRunner))
        self.traffic = next((s for s in self.sources if isinstance(s, TrafficDetector)), None)
        names = [s.name for s in services]
        self.signals = SignalRoute(view(settings, SignalSettings), self.db, names, self.clock, self.metrics)
        self.alertmanager = AlertmanagerRoute.build(
            view(settings, AlertmanagerSettings), self.engine, self.db, self.clock, names, self.metrics
        )
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._delivery: asyncio.Task[None] | None = None
        self.leadership: Leadership | None = None
        self.started_at = self.clock.now()
        self.http_port = settings.port

    async def start(self) -> None:
        """Every replica serves HTTP (and chat events); the one that wins the lease also leads (`_lead`)."""
        self.db.upgrade()
        await self.start_http()  # first: a taken port stops start-up before anything else runs
        self.scheduler.start()
        for platform in self.platforms:
            if not platform.leader_only:
                await platform.start()
        lease = Lease(self.db, replica_id(), self.settings.lease_ttl)
        self.leadership = Leadership(lease, self._lead, self._follow, self.metrics)
        self.worker.fence = self.leadership
        if urls.is_postgres(self.db.url):
            listener = Listener(
                self.db.url, {wakeups.OUTBOX: self._outbox_changed, wakeups.LEASE: self.leadership.poke}
            )
            self._tasks.append(asyncio.create_task(listener.run(), name="wake-ups"))
        await self.leadership.start()
        log.info(
            "HTTP on %s:%s; %s; sinks: %s",
            self.settings.host,
            self.http_port,
            "leading" if self.leadership.leading else "following",
            ", ".join(self.sinks) or "none",
        )

    async def _lead(self, epoch: int) -> None:
        """The leader's duties: sources, reminders, retention, delivery, leader-only platforms."""
        self._delivery = asyncio.create_task(self.worker.run(), name="delivery")
        self.worker.kick()  # deliver what a previous leader left in the outbox
        for source in self.sources:
            source.start(self.scheduler)
        every(self.scheduler, "outbox-sweep", self._sweep_outbox, self.settings.outbox_sweep_interval)
        every(self.scheduler, "reminders", self._send_reminders, REMINDER_TICK)
        every(self.scheduler, "retention", self._prune, 3600, self.clock.now() + timedelta(minutes=1))
        self._say_what_probes()
        for platform in self.platforms:
            if platform.leader_only:
                await platform.start()
        watched = ", ".join(f"{p.service} ({p.client.base_url})" for p in self.pollers)
        log.info("watching %s every %gs", watched, self.settings.poll_interval)

    async def _follow(self) -> None:
        """Stop every duty at once; a send in flight is dropped (its row is resent with maybe_sent)."""
        for source in self.sources:
            source.stop()
        self.scheduler.remove_all_jobs()
        if self._delivery is not None:
            self._delivery.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._delivery
            self._delivery = None
        for platform in self.platforms:
            if platform.leader_only:
                await platform.stop()

    def _committed(self) -> None:
        """Outbox rows are in: deliver them here when leading, else wake the leader."""
        if self.leadership is None or self.leadership.leading:
            self.worker.kick()
        else:
            wakeups.notify(self.db, wakeups.OUTBOX)

    def _outbox_changed(self) -> None:
        if self.leadership is not None and self.leadership.leading:
            self.worker.kick()

    @property
    def poller(self) -> StatuspagePoller:
        """The first (usually only) service's poller."""
        return self.pollers[0]

    def draft(self, incident_id: int) -> Draft:
        from bot.postmortem.draft import build  # Jinja2 loads with the first draft; the chart is drawn apart

        return build(self.db, incident_id, self.clock.now(), self.settings.templates_dir, self.charts.draw)

    def _say_what_probes(self) -> None:
        if self.settings.anthropic_api_key is None:
            log.info("ANTHROPIC_API_KEY is not set: the Anthropic probes are off (status page only)")
        if self.probes.streams:
            log.info("probes: %s every %gs", ", ".join(self.probes.streams), self.settings.probe_interval)

    async def _sweep_outbox(self) -> None:
        self.worker.kick()  # retries that have come due

    async def _send_reminders(self) -> None:
        self.engine.send_reminders()

    async def _prune(self) -> None:
        await asyncio.to_thread(self._prune_now)  # long batched deletes; touches nothing of asyncio

    def _prune_now(self) -> None:
        prune(self.db, self.clock.now(), self.settings.probe_retention_days)
        prune_traffic(self.db, self.clock.now())
        if self.settings.retention_days is not None:
            forget_resolved(self.db, self.clock.now() - timedelta(days=self.settings.retention_days))

    def _database_gauges(self) -> tuple[dict[str, int], dict[str, int]]:
        """Every watched service and every sink has a sample, 0 included: a gauge that vanishes at zero
        cannot be told from a bot that stopped reporting."""
        services = dict.fromkeys((s.name for s in self.settings.effective_services()), 0)
        with self.db.session() as session:
            return services | queries.open_by_service(session), dict.fromkeys(self.sinks, 0) | depth(session)

    async def start_http(self) -> None:
        secret = self.settings.webhook_secret
        app = build_web_app(
            self.engine,
            [s.name for s in self.settings.effective_services()],
            secret.get_secret_value() if secret else None,
            self.health,
            self.metrics,
        )
        for platform in self.platforms:
            app.router.add_routes(platform.routes())
        app.router.add_routes(self.signals.routes())
        app.router.add_routes(self.alertmanager.routes())
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.settings.host, self.settings.port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise _listen_problem(exc, self.settings.host, self.settings.port) from None
        self.http_port = self._runner.addresses[0][1]  # PORT=0: whichever port was free

    @property
    def role(self) -> str:
        return self.leadership.role if self.leadership is not None else "leader"

    def health(self) -> dict[str, object]:
        """Unhealthy when a page has not been polled successfully for too long, the outbox is stuck
        (judged by the leader, which delivers), or the database does not answer, so the platform
        restarts the process."""
        try:
            report = self._health()
        except SQLAlchemyError as exc:
            problem = describe(exc)
            return {"ok": False, "role": self.role, "database": f"unreachable: {problem}"}
        return {**report, "role": self.role}

    def _health(self) -> dict[str, object]:
        now = self.clock.now()
        report: dict[str, dict[str, object]] = {}
        sources_ok = True
        for source in self.sources:
            health = source.health()
            section, name = source.where
            report.setdefault(section, {})[name] = health.json()
            sources_ok = sources_ok and health.ok
        with self.db.session() as session:
            queued, stuck = depth(session), queries.oldest_due(session, now - OUTBOX_STUCK)
        outbox_ok = stuck is None or self.worker.paused(stuck.sink)
        ok = (outbox_ok or self.role != "leader") and sources_ok
        return {"ok": ok, **report, "outbox_pending": queued, "outbox_stuck": not outbox_ok}

    async def stop(self) -> None:
        if self.leadership is not None:
            was_leading = self.leadership.leading
            await self.leadership.stop()  # stops the duties and hands the lease over
            if was_leading:
                wakeups.notify(self.db, wakeups.LEASE)
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        for platform in self.platforms:
            if not platform.leader_only or self.leadership is None:
                await platform.stop()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._runner is not None:
            await self._runner.cleanup()
        for source in self.sources:
            await source.aclose()
        for sink in self.sinks.values():
            await sink.aclose()
        await asyncio.to_thread(self.charts.close)
        self.db.dispose()

    async def run_until_signalled(self) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        try:
            await self.start()
        except BaseException:  # a taken port, a read-only database: close what did start, then say why
            await self.stop()
            raise
        await stop.wait()
        log.info("shutting down")
        await self.stop()
