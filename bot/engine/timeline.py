"""Small shared steps of every incident change: identify, append to the timeline, resolve."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from bot.engine.events import ActionError, Actor
from bot.store.enums import EntryKind, Status
from bot.store.models import Incident, TimelineEntry

STATUSBOT = "statusbot"  # the bot itself, as the source or actor of an entry
VENDOR = "vendor"  # the actor of a resolution the vendor's page announced


def incident_id(incident: Incident) -> int:
    assert incident.id is not None
    return incident.id


def add_entry(
    session: Session,
    incident: Incident,
    kind: EntryKind,
    at: datetime,
    *,
    body: str,
    source: str,
    status: str | None = None,
    actor: Actor | None = None,
    upstream_id: str | None = None,
    components: list[dict[str, str]] | None = None,
    recorded_at: datetime | None = None,
    resolves: bool | None = None,
) -> TimelineEntry:
    if resolves is None:
        resolves = status == Status.RESOLVED and incident.is_open
    entry = TimelineEntry(
        incident_id=incident_id(incident),
        at=at,
        recorded_at=recorded_at or at,
        kind=kind,
        source=source,
        upstream_id=upstream_id,
        status=status,
        body=body,
        actor=actor.name if actor else None,
        actor_id=actor.id if actor else None,
        components=components or [],
        resolves=resolves,
    )
    session.add(entry)
    session.flush()
    return entry


def resolve_incident(incident: Incident, at: datetime, actor: str) -> None:
    incident.status, incident.resolved_at, incident.resolved_by = Status.RESOLVED, at, actor


def last_entry(session: Session, incident: Incident) -> TimelineEntry:
    query = (
        select(TimelineEntry)
        .where(TimelineEntry.incident_id == incident_id(incident))
        .order_by(col(TimelineEntry.id).desc())
    )
    entry = session.exec(query).first()
    assert entry is not None
    return entry


def get_open(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise ActionError(f"There is no incident #{incident_id}.")
    if not incident.is_open:
        raise ActionError(f"#{incident_id} is already resolved.")
    return incident
