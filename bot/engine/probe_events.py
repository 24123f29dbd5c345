"""The engine's probe side: open, join or reopen an incident when a probe crosses its threshold,
note recoveries and flapping, and tell the runner when the vendor's maintenance covers a probe."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.engine import probes
from bot.engine.timeline import last_entry
from bot.store.models import Incident, Kind, Status

if TYPE_CHECKING:
    from bot.engine.incidents import IncidentEngine


class ProbeEvents:
    def probe_failing(
        self: IncidentEngine,
        service: str,
        probe: str,
        since: datetime,
        outcomes: Sequence[str],
        reopen: bool = False,
        errors: Sequence[str] = (),
    ) -> Incident:
        """Open (or join, or reopen) the incident for a probe that crossed its failure threshold."""
        now = self.clock.now()
        with self.db.session() as session:
            incident = self._probe_target(session, service, probe, reopen)
            if incident is None:
                degraded = all(o == "degraded" for o in outcomes)
                incident = probes.new_probe_incident(service, probe, since, degraded, now)
                session.add(incident)
                session.flush()
                probes.note_failing(session, incident, probe, since, probes.summary(errors or outcomes), now)
                self._announce(session, incident, now)
            elif reopen and not incident.is_open:
                probes.reopen(session, incident, probe, since, now)
                self._publish(session, incident, last_entry(session, incident), now)
                self._followups(session, incident, False, now)
            else:
                probes.note_failing(session, incident, probe, since, probes.summary(errors or outcomes), now)
                self._publish(session, incident, last_entry(session, incident), now)
            session.commit()
        self._on_commit()
        return incident

    def _probe_target(
        self: IncidentEngine, session: Session, service: str, probe: str, reopen: bool
    ) -> Incident | None:
        if reopen:
            last = probes.last_probe_incident(session, service, probe)
            if last is not None:
                return last
        return probes.open_vendor_incident(session, service, probe, self.probes)

    def probe_recovered(self: IncidentEngine, service: str, probe: str) -> None:
        self._probe_change(service, probe, probes.recovered)

    def probe_flapping(self: IncidentEngine, service: str, probe: str) -> None:
        self._probe_change(service, probe, probes.flapping)

    def _probe_change(self: IncidentEngine, service: str, probe: str, change: Callable[..., None]) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            incident = probes.last_probe_incident(session, service, probe)
            if incident is None or not incident.is_open:
                return
            change(session, incident, probe, now, self.auto_resolve)
            self._publish(session, incident, last_entry(session, incident), now)
            self._followups(session, incident, True, now)
            session.commit()
        self._on_commit()

    def maintenance_active(self: IncidentEngine, service: str, probe: str) -> bool:
        """The vendor's maintenance window covering this probe's components is under way."""
        with self.db.session() as session:
            query = select(Incident).where(
                Incident.service == service,
                Incident.kind == Kind.MAINTENANCE,
                col(Incident.status).in_([Status.IN_PROGRESS, Status.VERIFYING]),
            )
            return any(self.probes.covers(probe, m.components) for m in session.exec(query))
