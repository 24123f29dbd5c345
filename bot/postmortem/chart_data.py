"""What the postmortem chart shows, as plain JSON: per-minute probe latency (p50, p95) and error rate,
the vendor's status changes, our acknowledgment and resolution. This is what crosses to the chart
worker process (bot/postmortem/chart_worker.py); it imports nothing heavy."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from bot.postmortem.data import PostmortemData


def chart_data(data: PostmortemData) -> dict[str, Any]:
    times, p50, p95, errors = _per_minute(data)
    incident = data.incident
    return {
        "title": f"#{incident.id} {incident.title}"[:90],
        "window": [_iso(data.window[0]), _iso(data.window[1])],
        "minutes": [_iso(t) for t in times],
        "p50_ms": p50,
        "p95_ms": p95,
        "error_pct": errors,
        "vendor": [[_iso(u.at), u.status or ""] for u in data.vendor_updates],
        "people": [[_iso(e.at), e.kind, e.actor or ""] for e in data.people],
        "resolved": [_iso(incident.resolved_at), incident.resolved_by or ""] if incident.resolved_at else None,
        "traffic": [[_iso(at), 100.0 * failed / calls] for at, calls, failed in data.traffic.minutes if calls],
        "traffic_calls": data.traffic.calls,
    }


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def _per_minute(data: PostmortemData) -> tuple[list[datetime], list[float | None], list[float | None], list[float]]:
    buckets: dict[datetime, list[Any]] = defaultdict(list)
    for result in data.probe.results:
        buckets[result.at.replace(second=0, microsecond=0)].append(result)
    times: list[datetime] = []
    p50: list[float | None] = []
    p95: list[float | None] = []
    errors: list[float] = []
    for minute in sorted(buckets):
        items = buckets[minute]
        ok = sorted(r.latency_ms for r in items if r.latency_ms is not None and r.outcome != "failure")
        times.append(minute)
        p50.append(ok[len(ok) // 2] if ok else None)
        p95.append(ok[min(len(ok) - 1, int(len(ok) * 0.95))] if ok else None)
        errors.append(100.0 * sum(r.outcome in ("failure", "degraded") for r in items) / len(items))
    return times, p50, p95, errors
