"""Runs the probes: one attempt, classify, store the result, feed the detector, act on its decisions.

Each model a probe names is its own outcome stream (`ProbeSpec.streams`): its own detector state
(`probe_state`), its own results (`probe_result.probe` is the stream's key) and its own incidents.
Each stream schedules its own next run (APScheduler date jobs): the normal interval while all is well,
the fast re-check after a failure. Before a failure counts against the vendor, an independent target
is tried: if that fails too, our own network is down and the result is recorded as `local`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import col, select

from bot.clock import Clock
from bot.config import ProbeSpec, Settings
from bot.engine.incidents import IncidentEngine
from bot.engine.streams import PROBE, Stream
from bot.jobs import stops_quietly
from bot.metrics import Metrics
from bot.sources.probes import detector, kinds, lanes
from bot.sources.probes.classify import Attempt, classify
from bot.sources.source import Health, Tracker
from bot.store.db import Database
from bot.store.models import ProbeOutcome, ProbeResult, ProbeState

log = logging.getLogger(__name__)
SOURCE = PROBE  # the `source` of the incidents and entries our probes open and write
CONNECTIVITY_TIMEOUT = 5.0


@dataclass(frozen=True)
class ProbeStream:
    """One outcome stream of a probe: the probe, and the model it calls (None for http and models probes)."""

    key: str
    spec: ProbeSpec
    model: str | None

    @property
    def stream(self) -> Stream:
        """The engine's view of it (bot/engine/streams.py)."""
        return Stream(self.key, PROBE, self.model, self.spec.name)


def streams_of(settings: Settings) -> dict[str, ProbeStream]:
    return {key: ProbeStream(key, spec, model) for spec in settings.effective_probes() for key, model in spec.streams()}


def policy_from(settings: Settings) -> detector.Policy:
    return detector.Policy(
        open_after=settings.probe_open_after,
        resolve_after=settings.probe_resolve_after,
        flap_cycles=settings.probe_flap_cycles,
        flap_window=timedelta(seconds=settings.probe_flap_window),
        reopen_window=timedelta(seconds=settings.probe_reopen_window),
        interval=timedelta(seconds=settings.probe_interval),
        recheck=timedelta(seconds=settings.probe_recheck),
    )


def config_line(stream: ProbeStream, attempt: Attempt) -> str:
    """One line that says which setting is wrong: an unknown model names the model and the probe to fix."""
    answer = f"HTTP {attempt.status_code} {attempt.error_type or ''}: {attempt.detail or ''}".strip()
    if attempt.error_type == "not_found_error" and stream.model is not None:
        return (
            f"probe {stream.key}: the API does not know the model {stream.model!r} ({answer}); fix `models` of "
            f"[[probes]] {stream.spec.name} in statusbot.toml; this is configuration, not a vendor outage"
        )
    return (
        f"probe {stream.key}: our configuration is wrong ({answer}); check ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL "
        "and the probe's model; this is not a vendor outage"
    )


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
        self.policy = policy_from(settings)
        self.engine, self.db, self.clock = engine, db, clock
        self.http = httpx.AsyncClient(transport=transport, follow_redirects=False)
        self.base_url = str(settings.anthropic_base_url).rstrip("/")
        key = settings.anthropic_api_key
        self.api_key = key.get_secret_value() if key else None
        self.scheduler: AsyncIOScheduler | None = None
        self._network_down = False
        self.key, self.where = "probes", ("probes", "runner")
        self.tracker = Tracker(db, self.key, "probes", self.policy.recheck, clock)  # runs that crashed

    def start(self, scheduler: AsyncIOScheduler) -> None:
        self.scheduler = scheduler
        for key in self.streams:
            self._schedule(key, timedelta(0))

    def stop(self) -> None:
        """No more runs scheduled (this replica stopped leading); a run in flight does not reschedule."""
        scheduler, self.scheduler = self.scheduler, None
        for name in self.streams:
            if scheduler is not None and scheduler.get_job(f"probe:{name}") is not None:
                scheduler.remove_job(f"probe:{name}")

    def health(self) -> Health:
        """A vendor failing its probes is not our health; runs that crash for an hour are."""
        return self.tracker.health(timedelta(hours=1)) if self.tracker.failing else Health(True, None, 0)

    async def run(self, name: str) -> ProbeOutcome:
        stream = self.streams[name]
        spec = stream.spec
        request = kinds.request_for(spec, stream.model, self.base_url, self.api_key)
        attempt = await kinds.attempt(self.http, request, self.settings.probe_timeout)
        outcome = classify(attempt, spec.expect_status, spec.latency_threshold_ms)
        if outcome in detector.FAILING and not await self._network_ok():
            outcome = ProbeOutcome.LOCAL
        now = self.clock.now()
        self._record(name, attempt, outcome)
        if self.metrics is not None:
            self.metrics.probe(name, outcome, attempt.latency_ms)
        state = self._load(name)
        service = self.settings.service_of(spec)
        suppressed = outcome in detector.FAILING and self.engine.maintenance_active(service, stream.stream)
        lane = lanes.lanes_for(spec.kind, self.policy, self.policy.interval)[0].name
        state, decisions = detector.observe(
            state, now, outcome, self.policy, suppressed, lane=lane, latency_ms=attempt.latency_ms
        )
        self._save(name, state)
        for decision in decisions:
            self._act(stream, decision, attempt)
        self._schedule(name, detector.next_delay(state, self._policy(spec)))
        return outcome

    def _policy(self, spec: ProbeSpec) -> detector.Policy:
        if spec.interval is None:
            return self.policy
        return replace(self.policy, interval=timedelta(seconds=spec.interval))

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
        service, Action, name = self.settings.service_of(stream.spec), detector.Action, stream.key
        match decision.action:
            case Action.OPEN | Action.REOPEN:
                assert decision.since is not None
                incident = self.engine.stream_failing(
                    service,
                    stream.stream,
                    decision.since,
                    decision.outcomes,
                    reopen=decision.action == Action.REOPEN,
                    errors=self._errors_since(name, decision.since),
                )
                log.info(
                    "probe %s: %s incident #%s",
                    name,
                    decision.action,
                    incident.id,
                    extra={"incident": incident.id, "source": SOURCE, "probe": name},
                )
            case Action.FLAPPING:
                self.engine.stream_flapping(service, stream.stream)
            case Action.RESOLVE:
                self.engine.stream_recovered(service, stream.stream)
            case Action.SUPPRESSED:
                log.info("probe %s failing during the vendor's maintenance window: recorded, not alerted", name)
            case Action.CONFIG:
                log.error("%s", config_line(stream, attempt))
            case Action.CONFIG_OK:
                log.info("probe %s: configuration works again", name)

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

    async def _run_scheduled(self, name: str) -> None:
        try:
            await self.run(name)
        except Exception as exc:  # a bug must not stop the probe: log it, try again after a backoff
            log.exception("probe %s: run failed", name)
            self._schedule(name, self.tracker.record_failure(f"probe {name}: {type(exc).__name__}: {exc}"))
        else:
            if self.tracker.failing:
                self.tracker.succeeded()

    def _schedule(self, name: str, delay: timedelta) -> None:
        if self.scheduler is None:
            return
        self.scheduler.add_job(
            stops_quietly(self._run_scheduled),
            "date",
            run_date=datetime.now(UTC) + delay,
            args=[name],
            id=f"probe:{name}",
            replace_existing=True,
            misfire_grace_time=None,
        )

    async def aclose(self) -> None:
        await self.http.aclose()
