"""Bounded storage for probe results: raw results for N days, then per-minute rollups, then per-hour
rollups after 90 days. Runs as its own scheduler job, off the probe path."""

from __future__ import annotations

import logging
import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from bot.store.db import Database
from bot.store.enums import ProbeOutcome
from bot.store.models import ProbeResult, ProbeRollup

log = logging.getLogger(__name__)
MINUTE, HOUR = 60, 3600
MINUTE_ROLLUPS_KEPT = timedelta(days=90)
FAILED = (ProbeOutcome.FAILURE, ProbeOutcome.DEGRADED)
BATCH = 20_000


def _bucket(moment: datetime, seconds: int) -> datetime:
    return moment.replace(second=0, microsecond=0, minute=0 if seconds == HOUR else moment.minute)


def _quantile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _merge(
    session: Session,
    probe: str,
    start: datetime,
    seconds: int,
    count: int,
    failures: int,
    latency: tuple[float | None, float | None, float | None],
) -> None:
    """Add to a bucket. Counts and the max stay exact; percentiles of a bucket filled twice (a result
    batch boundary inside a minute) keep the later batch's values."""
    row = session.get(ProbeRollup, (probe, start, seconds)) or ProbeRollup(probe=probe, start=start, seconds=seconds)
    row.count += count
    row.failures += failures
    p50, p95, top = latency
    if top is not None:
        row.latency_p50_ms, row.latency_p95_ms = p50, p95
        row.latency_max_ms = max(top, row.latency_max_ms or top)
    session.add(row)


def roll_up_results(db: Database, now: datetime, keep_days: float) -> int:
    """Fold raw results older than `keep_days` into per-minute rollups; returns how many were folded."""
    cutoff, folded = now - timedelta(days=keep_days), 0
    while True:
        with db.session() as session:
            rows = list(
                session.exec(
                    select(ProbeResult).where(ProbeResult.at < cutoff).order_by(col(ProbeResult.id)).limit(BATCH)
                )
            )
            if not rows:
                return folded
            _fold(session, rows)
            session.exec(delete(ProbeResult).where(col(ProbeResult.id).in_([r.id for r in rows])))
            session.commit()
        folded += len(rows)


def _fold(session: Session, rows: Iterable[ProbeResult]) -> None:
    groups: dict[tuple[str, datetime], list[ProbeResult]] = defaultdict(list)
    for row in rows:
        groups[(row.probe, _bucket(row.at, MINUTE))].append(row)
    for (probe, start), items in groups.items():
        latencies = [r.latency_ms for r in items if r.latency_ms is not None and r.outcome != ProbeOutcome.FAILURE]
        stats = (_quantile(latencies, 50), _quantile(latencies, 95), max(latencies, default=None))
        _merge(session, probe, start, MINUTE, len(items), sum(r.outcome in FAILED for r in items), stats)


def roll_up_minutes(db: Database, now: datetime) -> int:
    """Per-minute rollups older than 90 days become per-hour rollups."""
    cutoff = now - MINUTE_ROLLUPS_KEPT
    with db.session() as session:
        rows = list(session.exec(select(ProbeRollup).where(ProbeRollup.seconds == MINUTE, ProbeRollup.start < cutoff)))
        groups: dict[tuple[str, datetime], list[ProbeRollup]] = defaultdict(list)
        for row in rows:
            groups[(row.probe, _bucket(row.start, HOUR))].append(row)
        for (probe, start), items in groups.items():
            p50s = [r.latency_p50_ms for r in items if r.latency_p50_ms is not None]
            p95s = [r.latency_p95_ms for r in items if r.latency_p95_ms is not None]
            tops = [r.latency_max_ms for r in items if r.latency_max_ms is not None]
            stats = (statistics.median(p50s) if p50s else None, max(p95s, default=None), max(tops, default=None))
            _merge(session, probe, start, HOUR, sum(r.count for r in items), sum(r.failures for r in items), stats)
        for row in rows:
            session.delete(row)
        session.commit()
    return len(rows)


def prune(db: Database, now: datetime, keep_days: float) -> None:
    folded, hourly = roll_up_results(db, now, keep_days), roll_up_minutes(db, now)
    if folded or hourly:
        log.info("probe results: %d raw results rolled up per minute, %d minute rollups per hour", folded, hourly)
