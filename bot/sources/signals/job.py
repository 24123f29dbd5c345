"""The leader's traffic detector run: every `STATUSBOT_SIGNALS_DETECT_INTERVAL` seconds, the signals that
arrived (from any replica) go through the detector (detection.py), and its decisions go to the engine,
as the probe runner's do: a failing `traffic:<source>:<model>` stream opens (or joins, or reopens) an
incident, a recovered one notes its recovery. Only the leader runs it; a replica that stops leading
stops it at once."""

from __future__ import annotations

import logging
from collections import Counter
from datetime import datetime, timedelta
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import select

from bot.clock import Clock
from bot.engine.incidents import IncidentEngine
from bot.engine.streams import TRAFFIC, Stream
from bot.jobs import every
from bot.outcomes import Verdict, verdict
from bot.sources import decisions
from bot.sources.probes import detector
from bot.sources.signals import detection
from bot.sources.signals.detection import Due
from bot.sources.source import Health, Tracker
from bot.store.db import Database
from bot.store.models import TrafficRollup

log = logging.getLogger(__name__)
SOURCE = TRAFFIC  # the `source` of the incidents and entries the traffic signal opens and writes
JOB_ID = "signals:detect"
MAX_ERRORS = 10_000  # of one kind, listed for an incident's first entry (summed there to "type ×n")


class TrafficDetector:
    def __init__(
        self,
        engine: IncidentEngine,
        db: Database,
        clock: Clock,
        policy: detector.Policy,
        interval: float,
    ) -> None:
        self.engine, self.db, self.clock, self.policy = engine, db, clock, policy
        self.interval = interval
        self.key, self.where = "signals:detector", ("signals", "detector")
        self.tracker = Tracker(db, self.key, "traffic detector", timedelta(seconds=interval), clock)
        self._scheduler: AsyncIOScheduler | None = None
        self._recovered = False  # decisions a dead leader left due were acted on

    def start(self, scheduler: AsyncIOScheduler) -> None:
        self._scheduler = scheduler
        every(scheduler, JOB_ID, self.db.outage.guard(self._run_scheduled), self.interval, self.clock.now())

    def stop(self) -> None:
        scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None and scheduler.get_job(JOB_ID) is not None:
            scheduler.remove_job(JOB_ID)

    def health(self) -> Health:
        """The vendor failing your calls is not our health; runs that crash for ten minutes are."""
        return self.tracker.health(timedelta(minutes=10)) if self.tracker.failing else Health(True, None, 0)

    async def run(self) -> list[Due]:
        """One run: what a dead leader left due, then what arrived since the last run. Returns what was done."""
        acted: list[Due] = []
        if not self._recovered:
            with self.db.session() as session:
                acted += self._act_all(detection.due_left(session))
            self._recovered = True
        with self.db.session() as session:
            due = detection.step(session, self.clock.now(), self.policy, self._maintenance)
            session.commit()
        return acted + self._act_all(due)

    def _maintenance(self, service: str, key: str) -> bool:
        _, source, model = key.split(":", 2)
        return self.engine.maintenance_active(service, Stream.traffic(source, model))

    def _act_all(self, due: list[Due]) -> list[Due]:
        for item in due:
            self._act(item)
        with self.db.session() as session:
            for stream in dict.fromkeys(item.stream for item in due):
                detection.done(session, stream)
            session.commit()
        return due

    def _act(self, due: Due) -> None:
        stream = Stream.traffic(due.source, due.model)
        decisions.act(self.engine, due.service, stream, due.decision, partial(self._errors_since, due))

    def _errors_since(self, due: Due, since: datetime) -> list[str]:
        """The failures' kinds in the stream's rollups since the streak began (from its minute on)."""
        query = select(TrafficRollup).where(
            TrafficRollup.service == due.service,
            TrafficRollup.source == due.source,
            TrafficRollup.model == due.model,
            TrafficRollup.seconds == 60,
            TrafficRollup.start >= since.replace(second=0, microsecond=0),
        )
        kinds: Counter[str] = Counter()
        with self.db.session() as session:
            for row in session.exec(query):
                kinds.update({k: n for k, n in row.errors.items() if verdict(k) == Verdict.FAILURE})
        return [kind for kind, n in kinds.most_common() for _ in range(min(n, MAX_ERRORS))]

    async def _run_scheduled(self) -> None:
        try:
            await self.run()
        except Exception as exc:  # a bug must not stop the detector: one traceback, the next run retries
            if isinstance(exc, SQLAlchemyError):
                raise  # the database's one line (Database.outage)
            log.exception("traffic detector: run failed")
            self.tracker.record_failure(f"traffic detector: {type(exc).__name__}: {exc}")
        else:
            if self.tracker.failing:
                self.tracker.succeeded()

    async def aclose(self) -> None:
        return None
