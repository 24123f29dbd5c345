"""Read queries shared by the CLI and the chat command layer."""

from __future__ import annotations

from sqlmodel import Session, col, select

from bot.store.models import ComponentState, Incident, Status, TimelineEntry


def incidents(session: Session, *, include_resolved: bool = False, limit: int = 20) -> list[Incident]:
    query = select(Incident)
    if not include_resolved:
        query = query.where(Incident.status != Status.RESOLVED)
    return list(session.exec(query.order_by(col(Incident.started_at).desc(), col(Incident.id).desc())
                             .limit(limit)))


def latest_open(session: Session) -> Incident | None:
    query = (select(Incident).where(Incident.status != Status.RESOLVED)
             .order_by(col(Incident.started_at).desc(), col(Incident.id).desc()))
    return session.exec(query).first()


def timeline(session: Session, incident_id: int) -> list[TimelineEntry]:
    query = (select(TimelineEntry).where(TimelineEntry.incident_id == incident_id)
             .order_by(col(TimelineEntry.at), col(TimelineEntry.id)))
    return list(session.exec(query))


def components(session: Session, service: str | None = None) -> list[ComponentState]:
    query = select(ComponentState)
    if service is not None:
        query = query.where(ComponentState.service == service)
    return list(session.exec(query.order_by(ComponentState.service, col(ComponentState.position))))
