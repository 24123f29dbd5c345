"""Which streams saw an incident (`incident_stream`): every stream that reported it, when it first did,
and whether it still fails. Recovery and the `agree` policy read all of them, and the card names them."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.engine.streams import Stream
from bot.engine.timeline import incident_id
from bot.store.enums import Status, StreamState
from bot.store.models import Incident, IncidentStream


def record_failing(session: Session, incident: Incident, stream: Stream, since: datetime, now: datetime) -> None:
    """The stream reports the incident (first, again, or after it recovered)."""
    row = session.get(IncidentStream, (incident_id(incident), stream.key))
    if row is None:
        row = IncidentStream(
            incident_id=incident_id(incident),
            stream=stream.key,
            source=stream.source,
            first_seen=now,
            failing_since=since,
            changed_at=now,
        )
    row.model, row.probe = row.model or stream.model, row.probe or stream.probe
    row.state, row.changed_at = StreamState.FAILING, now
    row.failing_since = min(row.failing_since, since)
    session.add(row)
    incident.probe_name = incident.probe_name or stream.key
    incident.signalled_at = min(incident.signalled_at or now, now)


def record_recovered(session: Session, incident: Incident, stream: Stream, now: datetime) -> None:
    row = session.get(IncidentStream, (incident_id(incident), stream.key))
    if row is not None and row.state != StreamState.RECOVERED:
        row.state, row.changed_at = StreamState.RECOVERED, now
        session.add(row)


def of_incident(session: Session, incident: Incident) -> list[IncidentStream]:
    query = select(IncidentStream).where(IncidentStream.incident_id == incident_id(incident))
    return list(session.exec(query.order_by(col(IncidentStream.first_seen), col(IncidentStream.stream))))


def failing(session: Session, incident: Incident) -> list[IncidentStream]:
    return [row for row in of_incident(session, incident) if row.state == StreamState.FAILING]


def last_incident(session: Session, service: str, key: str) -> Incident | None:
    """The incident this stream reported last."""
    query = (
        select(Incident)
        .join(IncidentStream, col(IncidentStream.incident_id) == col(Incident.id))
        .where(Incident.service == service, IncidentStream.stream == key)
        .order_by(col(IncidentStream.first_seen).desc(), col(Incident.id).desc())
    )
    return session.exec(query).first()


def open_stream_incidents(session: Session, service: str) -> list[Incident]:
    """Open incidents our streams reported and the vendor has not (yet), oldest first."""
    seen = select(IncidentStream.incident_id).distinct()
    query = (
        select(Incident)
        .where(
            Incident.service == service,
            Incident.status != Status.RESOLVED,
            col(Incident.upstream_id).is_(None),
            col(Incident.id).in_(seen),
        )
        .order_by(col(Incident.started_at), col(Incident.id))
    )
    return list(session.exec(query))
