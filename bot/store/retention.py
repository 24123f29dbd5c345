"""STATUSBOT_RETENTION_DAYS: the timelines (and delivered outbox rows) of incidents resolved long ago
are deleted; the incident rows stay, so stats keep their counts and durations."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlmodel import col, delete, select

from bot.store.db import Database
from bot.store.models import Incident, OutboxMessage, TimelineEntry

log = logging.getLogger(__name__)


def forget_resolved(db: Database, before: datetime) -> int:
    """Returns how many timeline entries were deleted. Incidents still waiting for a delivery keep theirs."""
    waiting = select(OutboxMessage.incident_id).where(col(OutboxMessage.delivered_at).is_(None))
    old = select(Incident.id).where(
        col(Incident.resolved_at).is_not(None), col(Incident.resolved_at) < before, col(Incident.id).not_in(waiting)
    )
    with db.session() as session:
        session.exec(delete(OutboxMessage).where(col(OutboxMessage.incident_id).in_(old)))
        entries = session.exec(delete(TimelineEntry).where(col(TimelineEntry.incident_id).in_(old)))
        session.commit()
    deleted = int(entries.rowcount or 0)
    if deleted:
        log.info("retention: deleted %d timeline entries of incidents resolved before %s", deleted, before.date())
    return deleted
