"""The engine's probe side: open, join or reopen an incident when a probe crosses its threshold,
note recoveries and flapping, and tell the runner when the vendor's maintenance covers a probe.

Every call names its `source` (the probe runner's name), which the incident and its entries carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from bot.engine import probes
from bot.engine.core import EngineCore
from bot.engine.probes import ProbeMap
from bot.engine.resolution import AutoResolve
from bot.engine.timeline import last_entry
from bot.store.models import Incident, Kind, Status


class ProbeEvents:
    def __init__(self, core: EngineCore, probe_map: ProbeMap, auto_resolve: AutoResolve) -> None:
        self.core = core
        self.probes = probe_map
        self.auto_resolve = auto_resolve

    def probe_failing(
        self,
        service: str,
        probe: str,
        since: datetime,
        outcomes: Sequence[str],
        *,
        source: str,
        reopen: bool = False,
        errors: Sequence[str] = (),
    ) -> Incident:
        """Open (or join, or reopen) the incident for a probe that crossed its failure threshold."""
        core, now = self.core, self.core.clock.now()
        summary = probes.summary(errors or outcomes)
        with core.db.session() as session:
            incident = self._target(session, service, probe, reopen)
            if incident is None:
                degraded = all(o == "degraded" for o in outcomes)
                incident = probes.new_probe_incident(service, source, probe, since, degraded, now)
                session.add(incident)
                session.flush()
                probes.note_failing(session, incident, source, probe, since, summary, now)
                core.announce(session, incident, now)
            elif reopen and not incident.is_open:
                probes.reopen(session, incident, source, probe, since, now)
                core.publish(session, incident, last_entry(session, incident), now)
                core.followups(session, incident, False, now)
            else:
                probes.note_failing(session, incident, source, probe, since, summary, now)
                core.publish(session, incident, last_entry(session, incident), now)
            session.commit()
        core.committed()
        return incident

    def probe_recovered(self, service: str, probe: str, *, source: str) -> None:
        now = self.core.clock.now()
        with self.core.db.session() as session:
            incident = self._open_incident(session, service, probe)
            if incident is not None:
                probes.recovered(session, incident, source, probe, now, self.auto_resolve)
                self._published(session, incident, now)

    def probe_flapping(self, service: str, probe: str, *, source: str) -> None:
        now = self.core.clock.now()
        with self.core.db.session() as session:
            incident = self._open_incident(session, service, probe)
            if incident is not None:
                probes.flapping(session, incident, source, probe, now)
                self._published(session, incident, now)

    def maintenance_active(self, service: str, probe: str) -> bool:
        """The vendor's maintenance window covering this probe's components is under way."""
        with self.core.db.session() as session:
            query = select(Incident).where(
                Incident.service == service,
                Incident.kind == Kind.MAINTENANCE,
                col(Incident.status).in_([Status.IN_PROGRESS, Status.VERIFYING]),
            )
            return any(self.probes.covers(probe, m.components) for m in session.exec(query))

    def _target(self, session: Session, service: str, probe: str, reopen: bool) -> Incident | None:
        if reopen:
            last = probes.last_probe_incident(session, service, probe)
            if last is not None:
                return last
        return probes.open_vendor_incident(session, service, probe, self.probes)

    @staticmethod
    def _open_incident(session: Session, service: str, probe: str) -> Incident | None:
        incident = probes.last_probe_incident(session, service, probe)
        return incident if incident is not None and incident.is_open else None

    def _published(self, session: Session, incident: Incident, now: datetime) -> None:
        """The entry just added goes out, with the follow-ups of a resolution; then commit."""
        self.core.publish(session, incident, last_entry(session, incident), now)
        self.core.followups(session, incident, True, now)
        session.commit()
        self.core.committed()
