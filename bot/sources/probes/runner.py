"""Runs the probes: one attempt, classify, store the result, feed the detector, act on its decisions.

Each model a probe names is its own outcome stream (`bot.sources.probes.streams`): its own detector
state (`probe_state`), its own results (`probe_result.probe` is the stream's key) and its own
incidents. Each stream has lanes (`bot.sources.probes.lanes`: the paid `messages` call, the free
`count_tokens` and `models` ones), one APScheduler date job per lane; when a lane ends, the stream's
`Schedule` says when each of its lanes runs next (a first failure confirmed after 2 s and 4 s, the
others pulled in while the stream looks suspicious). Before a failure counts against the vendor, an
independent target is tried: if that fails too, our own network is down and the result is `local`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import col, select

from bot import tls
from bot.clock import Clock
from bot.config import Settings
from bot.engine.incidents import IncidentEngine
from bot.engine.streams import PROBE
from bot.jobs import stops_quietly
from bot.metrics import Metrics
from bot.sources import decisions
from bot.sources.probes import detector, kinds
from bot.sources.probes.classify import Attempt, classify
from bot.sources.probes.lanes import LaneSpec
from bot.sources.probes.schedule import Schedule
from bot.sources.probes.streams import ProbeStream, config_line, policy_from, streams_of
from bot.sources.source import Health, Tracker
from bot.store.db import Database
from bot.store.enums import ProbeOutcome
from bot.store.models import ProbeResult, ProbeState

__all__ = ["SOURCE", "ProbeRunner", "policy_from"]

log = logging.getLogger(__name__)
SOURCE = PROBE  # the `source` of the incidents and entries our probes open and write
CONNECTIVITY_TIMEOUT = 5.0


class ProbeRunner:
    def __init__(
        self,
        settings: Settings,
        engine: IncidentEngine,
        db: Database,
        clock: Clock,
        transport: httpx.AsyncBaseTransport | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.streams = streams_of(settings)
        self.schedule = Schedule.starting({key: s.lanes for key, s in self.streams.items()}, clock.now())
        self.policy = policy_from(settings)
        self.engine, self.db, self.clock = engine, db, clock
        self.http = httpx.AsyncClient(transport=transport, follow_redirects=False, verify=tls.context())
        self.base_url = str(settings.anthropic_base_url).rstrip("/")
        key = settings.anthropic_api_key
        self.api_key = key.get_secret_value() if key else None
        self.scheduler: AsyncIOScheduler | None = None
        self._network_down = False
        self.key, self.where = "probes", ("probes", "runner")
        self.tracker = Tracker(db, self.key, "probes", self.policy.recheck, clock)  # runs that crashed

    def start(self, scheduler: AsyncIOScheduler) -> None:
        self.scheduler = scheduler
        now = self.clock.now()
        for (key, lane), at in self.schedule.due.items():
            self._job(key, lane, max(at, now))

    def stop(self) -> None:
        """No more runs scheduled (this replica stopped leading); a run in flight does not reschedule."""
        scheduler, self.scheduler = self.scheduler, None
        for key, lane in self.schedule.due:
            if scheduler is not None and scheduler.get_job(job_id(key, lane)) is not None:
                scheduler.remove_job(job_id(key, lane))

    def health(self) -> Health:
        """A vendor failing its probes is not our health; runs that crash for an hour are."""
        return self.tracker.health(timedelta(hours=1)) if self.tracker.failing else Health(True, None, 0)

    async def run(self, name: str, lane: str | None = None) -> ProbeOutcome:
        """One attempt of one lane of stream `name` (its main lane by default), then its lanes planned."""
        stream, spec = self.streams[name], self.schedule.lane(name, lane)
        self.schedule.begin(name, spec.name)
        try:
            return await self._run_lane(stream, spec)
        except BaseException:
            self.schedule.retry(name, spec.name, self.clock.now() + self.policy.recheck)
            raise

    async def _run_lane(self, stream: ProbeStream, spec: LaneSpec) -> ProbeOutcome:
        name = stream.key
        attempt, outcome = await self._attempt(stream, spec.name)
        now = self.clock.now()
        self._record(name, attempt, outcome)
        if self.metrics is not None:
            self.metrics.probe(name, outcome, attempt.latency_ms)
        service = self.settings.service_of(stream.spec)
        suppressed = outcome in detector.FAILING and self.engine.maintenance_active(service, stream.stream)
        state, decisions = detector.observe(
            self._load(name), now, outcome, spec.policy, suppressed, lane=spec.name, latency_ms=attempt.latency_ms
        )
        self._save(name, state)
        for decision in decisions:
            self._act(stream, decision, attempt)
        for moved, at in self.schedule.finish(name, spec.name, state, now).items():
            self._job(name, moved, at)
        return outcome

    async def _attempt(self, stream: ProbeStream, lane: str) -> tuple[Attempt, ProbeOutcome]:
        request = kinds.request_for(stream.spec, stream.model, lane, self.base_url, self.api_key)
        attempt = await kinds.attempt(self.http, request, self.settings.probe_timeout)
        outcome = classify(attempt, stream.spec.expect_status, stream.spec.latency_threshold_ms)
        if outcome in detector.FAILING and not await self._network_ok():
            outcome = ProbeOutcome.LOCAL
        return attempt, outcome

    async def _network_ok(self) -> bool:
        try:
            await self.http.get(str(self.settings.connectivity_url), timeout=CONNECTIVITY_TIMEOUT)
        except httpx.HTTPError:
            if not self._network_down:
                log.warning(
                    "probes: our own connectivity check (%s) failed too: our network, not the vendor",
                    self.settings.connectivity_url,
                )
            self._network_down = True
            return False
        if self._network_down:
            log.info("probes: our network is reachable again")
        self._network_down = False
        return True

    def _act(self, stream: ProbeStream, decision: detector.Decision, attempt: Attempt) -> None:
        match decision.action:
            case detector.Action.CONFIG:
                log.error("%s", config_line(stream, attempt))
            case detector.Action.CONFIG_OK:
                log.info("probe %s: configuration works again", stream.key)
            case _:
                errors = partial(self._errors_since, stream.key)
                decisions.act(self.engine, self.settings.service_of(stream.spec), stream.stream, decision, errors)

    def _errors_since(self, name: str, since: datetime) -> list[str]:
        with self.db.session() as session:
            rows = session.exec(
                select(ProbeResult).where(
                    ProbeResult.probe == name, ProbeResult.at >= since, col(ProbeResult.outcome).in_(detector.FAILING)
                )
            )
            return [r.error_type or r.outcome for r in rows]

    def _record(self, name: str, attempt: Attempt, outcome: ProbeOutcome) -> None:
        with self.db.session() as session:
            session.add(
                ProbeResult(
                    probe=name,
                    at=self.clock.now(),
                    outcome=outcome,
                    latency_ms=round(attempt.latency_ms, 1),
                    status_code=attempt.status_code,
                    error_type=attempt.error_type or attempt.exception,
                    request_id=attempt.request_id,
                    detail=attempt.detail,
                )
            )
            session.commit()

    def _load(self, name: str) -> detector.State:
        with self.db.session() as session:
            row = session.get(ProbeState, name)
            return detector.State.from_json(row.state if row else {})

    def _save(self, name: str, state: detector.State) -> None:
        with self.db.session() as session:
            session.merge(ProbeState(probe=name, state=state.to_json()))
            session.commit()

    async def _run_scheduled(self, name: str, lane: str) -> None:
        try:
            await self.run(name, lane)
        except Exception as exc:  # a bug must not stop the probe: log it, try again after a backoff
            log.exception("probe %s (%s): run failed", name, lane)
            backoff = self.tracker.record_failure(f"probe {name}: {type(exc).__name__}: {exc}")
            self.schedule.retry(name, lane, self.clock.now() + backoff)
            self._job(name, lane, self.clock.now() + backoff)
        else:
            if self.tracker.failing:
                self.tracker.succeeded()

    def _job(self, name: str, lane: str, at: datetime) -> None:
        """The lane's date job at `at` (the clock's time), replacing the one it had."""
        if self.scheduler is None:
            return
        self.scheduler.add_job(
            stops_quietly(self._run_scheduled),
            "date",
            run_date=datetime.now(UTC) + (at - self.clock.now()),
            args=[name, lane],
            id=job_id(name, lane),
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def aclose(self) -> None:
        await self.http.aclose()


def job_id(stream: str, lane: str) -> str:
    return f"probe:{stream}:{lane}"
