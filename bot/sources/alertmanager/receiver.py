"""Alerts into incident changes, idempotently by fingerprint.

Each matching alert belongs to a stream, `alert:<alertname>` or `alert:<alertname>:<model>`. A stream fails
when its first alert starts firing, and recovers when its last firing alert resolves. The state of every
fingerprint is kept, so Alertmanager's repeats (every `repeat_interval`) and retries change nothing, and
a notification older than what we have (a late retry) is ignored.

The engine's change comes first and the fingerprint's state after it: a crash in between makes
Alertmanager's retry do the rest (an open incident of the stream is joined, not opened again).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.clock import Clock
from bot.engine import probes
from bot.engine.incidents import IncidentEngine
from bot.engine.streams import ALERTMANAGER, Stream
from bot.sources.alertmanager.payload import Alert, Payload
from bot.store.db import Database
from bot.store.models import AlertState

log = logging.getLogger(__name__)
SOURCE = ALERTMANAGER
FIRING, RESOLVED = "firing", "resolved"


@dataclass(frozen=True)
class Applied:
    taken: int  # alerts that changed something
    ignored: int  # not ours (labels), repeats, or older than what we have


class AlertReceiver:
    def __init__(
        self, engine: IncidentEngine, db: Database, clock: Clock, matchers: dict[str, str], model_label: str
    ) -> None:
        self.engine, self.db, self.clock = engine, db, clock
        self.matchers, self.model_label = matchers, model_label

    def apply(self, service: str, payload: Payload) -> Applied:
        if payload.truncated_alerts:
            log.warning(
                "alertmanager: %d alerts were left out of a notification (max_alerts)", payload.truncated_alerts
            )
        taken = sum(self._apply(service, alert) for alert in payload.alerts if self.ours(alert))
        return Applied(taken, len(payload.alerts) - taken)

    def ours(self, alert: Alert) -> bool:
        return all(alert.labels.get(name) == value for name, value in self.matchers.items())

    def stream_of(self, alert: Alert) -> Stream:
        model = alert.labels.get(self.model_label, "").strip()[:100]
        return Stream.alert(alert.name, model or None)

    def _apply(self, service: str, alert: Alert) -> bool:
        stream = self.stream_of(alert)
        with self.db.session() as session:
            state = session.get(AlertState, (service, alert.fingerprint))
            if not _news(state, alert):
                return False
            others = _firing_elsewhere(session, service, stream.key, alert.fingerprint)
            open_incident = probes.last_stream_incident(session, service, stream)
            stream_open = open_incident is not None and open_incident.is_open
        if alert.status == FIRING and not others and not stream_open:
            self.engine.stream_failing(service, stream, alert.starts_at, ["failure"], errors=[_what(alert)])
        elif alert.status == RESOLVED and not others and stream_open:
            self.engine.stream_recovered(service, stream)
        self._remember(service, stream.key, alert)
        return True

    def _remember(self, service: str, stream: str, alert: Alert) -> None:
        with self.db.session() as session:
            state = session.get(AlertState, (service, alert.fingerprint)) or AlertState(
                service=service,
                fingerprint=alert.fingerprint,
                stream=stream,
                status=alert.status,
                starts_at=alert.starts_at,
            )
            state.stream, state.status, state.starts_at = stream, alert.status, alert.starts_at
            state.ends_at, state.labels, state.updated_at = alert.ended_at, dict(alert.labels), self.clock.now()
            session.add(state)
            session.commit()


def _news(state: AlertState | None, alert: Alert) -> bool:
    """Whether this notification tells us something: not a repeat, and not older than what we have."""
    if state is None:
        return True
    if alert.starts_at < state.starts_at:
        return False  # an earlier firing of this fingerprint, arriving late
    if alert.starts_at > state.starts_at:
        return True  # it fires (or resolves) anew
    return state.status == FIRING and alert.status == RESOLVED


def _firing_elsewhere(session: Session, service: str, stream: str, fingerprint: str) -> bool:
    query = select(AlertState.fingerprint).where(
        AlertState.service == service,
        AlertState.stream == stream,
        AlertState.status == FIRING,
        col(AlertState.fingerprint) != fingerprint,
    )
    return session.exec(query).first() is not None


def _what(alert: Alert) -> str:
    summary = alert.annotations.get("summary", "").strip()
    return (f"{alert.name}: {summary}" if summary else alert.name)[:200]
