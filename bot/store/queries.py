"""Read queries shared by the CLI and the chat command layer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.store.enums import Status
from bot.store.models import ComponentState, Incident, OutboxMessage, TimelineEntry


def incidents(session: Session, *, include_resolved: bool = False, limit: int = 20) -> list[Incident]:
    query = select(Incident)
    if not include_resolved:
        query = query.where(Incident.status != Status.RESOLVED)
    return list(session.exec(query.order_by(col(Incident.started_at).desc(), col(Incident.id).desc()).limit(limit)))


def latest_open(session: Session) -> Incident | None:
    query = (
        select(Incident)
        .where(Incident.status != Status.RESOLVED)
        .order_by(col(Incident.started_at).desc(), col(Incident.id).desc())
    )
    return session.exec(query).first()


def timeline(session: Session, incident_id: int) -> list[TimelineEntry]:
    query = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id)
        .order_by(col(TimelineEntry.at), col(TimelineEntry.id))
    )
    return list(session.exec(query))


def components(session: Session, service: str | None = None) -> list[ComponentState]:
    query = select(ComponentState)
    if service is not None:
        query = query.where(ComponentState.service == service)
    return list(session.exec(query.order_by(ComponentState.service, col(ComponentState.position))))


def open_by_service(session: Session) -> dict[str, int]:
    query = select(Incident.service, func.count()).where(Incident.status != Status.RESOLVED).group_by(Incident.service)
    return {service: count for service, count in session.exec(query)}


def oldest_due(session: Session, before: datetime) -> OutboxMessage | None:
    """The oldest undelivered outbox row that has been due since before `before` (a stuck outbox)."""
    query = (
        select(OutboxMessage)
        .where(col(OutboxMessage.delivered_at).is_(None), OutboxMessage.next_attempt_at < before)
        .order_by(col(OutboxMessage.id))
    )
    return session.exec(query).first()
