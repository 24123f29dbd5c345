"""Traffic rollups are kept like probe rollups: per minute for 90 days, then per hour (all senders of an
hour in one row). Receipts of raw batches only guard against retries, so a day of them is enough."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from sqlmodel import col, delete, select

from bot.sources.probes.retention import HOUR, MINUTE, MINUTE_ROLLUPS_KEPT
from bot.store.db import Database
from bot.store.models import SignalReceipt, TrafficRollup

RECEIPTS_KEPT = timedelta(days=1)
ALL_SENDERS = "*"


def prune(db: Database, now: datetime) -> int:
    """Fold minute rollups older than 90 days into hourly ones; returns how many were folded."""
    with db.session() as session:
        rows = list(
            session.exec(
                select(TrafficRollup).where(
                    TrafficRollup.seconds == MINUTE, TrafficRollup.start < now - MINUTE_ROLLUPS_KEPT
                )
            )
        )
        groups: dict[tuple[str, str, str, datetime], list[TrafficRollup]] = defaultdict(list)
        for row in rows:
            groups[(row.service, row.source, row.model, row.start.replace(minute=0))].append(row)
        for (service, source, model, start), items in groups.items():
            pk = (service, source, model, start, HOUR, ALL_SENDERS)
            hour = session.get(TrafficRollup, pk) or TrafficRollup(
                service=service, source=source, model=model, start=start, seconds=HOUR, sender=ALL_SENDERS
            )
            _fold(hour, items)
            session.add(hour)
        for row in rows:
            session.delete(row)
        session.exec(delete(SignalReceipt).where(col(SignalReceipt.received_at) < now - RECEIPTS_KEPT))
        session.commit()
    return len(rows)


def _fold(hour: TrafficRollup, items: list[TrafficRollup]) -> None:
    for field in ("ok", "failures", "throttled", "caller", "fed_ok", "fed_failures"):
        setattr(hour, field, getattr(hour, field) + sum(getattr(r, field) for r in items))
    hour.errors = dict(sum((Counter(r.errors) for r in items), Counter(hour.errors)))
    p95s = [r.latency_p95_ms for r in items if r.latency_p95_ms is not None]
    hour.latency_p95_ms = max(p95s, default=hour.latency_p95_ms)
    hour.received_at = max(r.received_at for r in items)
