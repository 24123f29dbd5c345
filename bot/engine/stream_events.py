"""The engine's stream side: open, join or reopen an incident when a stream (a probe's model, the
team's traffic on a model, an alert) crosses its threshold, note recoveries and flapping, and tell the
caller when the vendor's maintenance covers a stream.

Every entry carries the stream's `source` ("probe", "traffic", "alertmanager"), and so does an
incident a stream opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from bot.engine import correlate, probes, seen_by
from bot.engine.core import EngineCore
from bot.engine.probes import ProbeMap
from bot.engine.resolution import AutoResolve
from bot.engine.streams import Stream
from bot.engine.timeline import last_entry
from bot.store.enums import Kind, Status
from bot.store.models import Incident


class StreamEvents:
    def __init__(self, core: EngineCore, probe_map: ProbeMap, auto_resolve: AutoResolve) -> None:
        self.core = core
        self.probes = probe_map
        self.auto_resolve = auto_resolve

    def stream_failing(
        self,
        service: str,
        stream: Stream,
        since: datetime,
        outcomes: Sequence[str],
        *,
        reopen: bool = False,
        errors: Sequence[str] = (),
    ) -> Incident:
        """Open (or join, or reopen) the incident for a stream that crossed its failure threshold."""
        core, now = self.core, self.core.clock.now()
        summary = probes.summary(errors or outcomes)
        with core.db.session() as session:
            incident = self._target(session, service, stream, reopen)
            if incident is None:
                degraded = all(o == "degraded" for o in outcomes)
                incident = probes.new_stream_incident(service, stream, since, degraded, now)
                session.add(incident)
                session.flush()
                probes.note_failing(session, incident, stream, since, summary, now)
                core.announce(session, incident, now)
            elif reopen and not incident.is_open:
                probes.reopen(session, incident, stream, since, now)
                core.publish(session, incident, last_entry(session, incident), now)
                core.followups(session, incident, False, now)
            else:
                probes.note_failing(session, incident, stream, since, summary, now)
                probes.retitle(session, incident)
                core.publish(session, incident, last_entry(session, incident), now)
            session.commit()
        core.committed()
        return incident

    def stream_recovered(self, service: str, stream: Stream) -> None:
        now = self.core.clock.now()
        with self.core.db.session() as session:
            incident = probes.last_stream_incident(session, service, stream)
            if incident is not None and incident.is_open:
                probes.recovered(session, incident, stream, now, self.auto_resolve)
                self._published(session, incident, now)
            elif incident is not None:  # resolved already (by a person, the vendor): the stream's state only
                seen_by.record_recovered(session, incident, stream, now)
                session.commit()

    def stream_flapping(self, service: str, stream: Stream) -> None:
        now = self.core.clock.now()
        with self.core.db.session() as session:
            incident = self._open_incident(session, service, stream)
            if incident is not None:
                probes.flapping(session, incident, stream, now)
                self._published(session, incident, now)

    def maintenance_active(self, service: str, stream: Stream) -> bool:
        """The vendor's maintenance window covering this stream's components is under way."""
        with self.core.db.session() as session:
            query = select(Incident).where(
                Incident.service == service,
                Incident.kind == Kind.MAINTENANCE,
                col(Incident.status).in_([Status.IN_PROGRESS, Status.VERIFYING]),
            )
            return any(self.probes.covers(stream.key, m.components) for m in session.exec(query))

    def _target(self, session: Session, service: str, stream: Stream, reopen: bool) -> Incident | None:
        if reopen:
            last = probes.last_stream_incident(session, service, stream)
            if last is not None:
                return last
        return correlate.stream_target(session, service, stream, self.probes)

    @staticmethod
    def _open_incident(session: Session, service: str, stream: Stream) -> Incident | None:
        incident = probes.last_stream_incident(session, service, stream)
        return incident if incident is not None and incident.is_open else None

    def _published(self, session: Session, incident: Incident, now: datetime) -> None:
        """The entry just added goes out, with the follow-ups of a resolution; then commit."""
        self.core.publish(session, incident, last_entry(session, incident), now)
        self.core.followups(session, incident, True, now)
        session.commit()
        self.core.committed()
