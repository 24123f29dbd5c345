"""Writing to and reading from the outbox. Rows are added inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from bot.store.enums import OutboxAction
from bot.store.models import OutboxMessage


def enqueue(
    session: Session,
    sinks: Sequence[str],
    incident_id: int,
    action: OutboxAction,
    now: datetime,
    entry_id: int | None = None,
) -> None:
    for sink in sinks:
        session.add(
            OutboxMessage(
                sink=sink,
                incident_id=incident_id,
                action=action,
                entry_id=entry_id,
                created_at=now,
                next_attempt_at=now,
            )
        )


def pending(session: Session, sink: str, now: datetime, limit: int = 500) -> list[OutboxMessage]:
    """Undelivered rows of one sink, oldest first, leaving out every incident that has a row waiting
    for its retry time: its later rows wait behind it (order is per thread), other incidents don't."""
    waiting = select(OutboxMessage.incident_id).where(
        OutboxMessage.sink == sink, col(OutboxMessage.delivered_at).is_(None), OutboxMessage.next_attempt_at > now
    )
    query = (
        select(OutboxMessage)
        .where(
            OutboxMessage.sink == sink,
            col(OutboxMessage.delivered_at).is_(None),
            col(OutboxMessage.incident_id).not_in(waiting),
        )
        .order_by(col(OutboxMessage.id))
        .limit(limit)
    )
    return list(session.exec(query))


def depth(session: Session) -> dict[str, int]:
    from sqlalchemy import func

    query = (
        select(OutboxMessage.sink, func.count())
        .where(col(OutboxMessage.delivered_at).is_(None))
        .group_by(OutboxMessage.sink)
    )
    return {sink: count for sink, count in session.exec(query)}
