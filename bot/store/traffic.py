"""Read queries over the traffic rollups: what the team's own calls say, per model, over a span."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.store.models import TrafficRollup

RECENT = timedelta(minutes=5)


@dataclass(frozen=True)
class TrafficTotal:
    model: str
    calls: int  # every call, the caller's own 4xx and throttled ones included
    failures: int

    @property
    def error_rate(self) -> float:
        return self.failures / self.calls if self.calls else 0.0


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def totals(session: Session, service: str, since: datetime, models: Iterable[str] | None = None) -> list[TrafficTotal]:
    """Per model since `since` (from its minute on), most failures first."""
    calls = TrafficRollup.ok + TrafficRollup.failures + TrafficRollup.throttled + TrafficRollup.caller
    query = (
        select(TrafficRollup.model, func.sum(calls), func.sum(TrafficRollup.failures))
        .where(TrafficRollup.service == service, TrafficRollup.start >= _minute(since))
        .group_by(TrafficRollup.model)
    )
    wanted = list(models) if models is not None else None
    if wanted is not None:
        query = query.where(col(TrafficRollup.model).in_(wanted))
    rows = [TrafficTotal(model, int(n or 0), int(f or 0)) for model, n, f in session.exec(query)]
    return sorted((r for r in rows if r.calls), key=lambda r: (-r.failures, -r.calls, r.model))


def per_minute(
    session: Session, service: str, start: datetime, end: datetime, models: Iterable[str] | None = None
) -> list[tuple[datetime, int, int]]:
    """(minute, calls, failures) of every minute in [start, end] with traffic."""
    calls = TrafficRollup.ok + TrafficRollup.failures + TrafficRollup.throttled + TrafficRollup.caller
    query = (
        select(TrafficRollup.start, func.sum(calls), func.sum(TrafficRollup.failures))
        .where(
            TrafficRollup.service == service,
            TrafficRollup.seconds == 60,
            TrafficRollup.start >= _minute(start),
            TrafficRollup.start <= end,
        )
        .group_by(col(TrafficRollup.start))
        .order_by(col(TrafficRollup.start))
    )
    if models is not None:
        query = query.where(col(TrafficRollup.model).in_(list(models)))
    return [(at, int(n or 0), int(f or 0)) for at, n, f in session.exec(query)]


def last_received(session: Session) -> datetime | None:
    return session.exec(select(func.max(TrafficRollup.received_at))).one()
