"""Incident statistics over a window: counts, MTTA and MTTR (median and p90), minutes of vendor
impact by component (as the vendor acknowledged it and as our probes observed it), uptime per
probe, and the median lead time of our detection over the vendor's first update."""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.engine.views import card, human_duration
from bot.store.db import Database
from bot.store.enums import Kind
from bot.store.models import ComponentState, Incident, ProbeResult, ProbeRollup, TimelineEntry

FAILING = ("failure", "degraded")
COUNTED = ("ok", "failure", "degraded")  # throttled, config and local results say nothing of the vendor


@dataclass(frozen=True)
class Stats:
    days: int
    since: datetime
    incidents: int
    acknowledged: int
    mtta_median_s: float | None
    mtta_p90_s: float | None
    mttr_median_s: float | None
    mttr_p90_s: float | None
    vendor_minutes: dict[str, float] = field(default_factory=dict)
    probe_minutes: dict[str, float] = field(default_factory=dict)
    uptime: dict[str, float | None] = field(default_factory=dict)
    lead_median_s: float | None = None


def p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)  # nearest rank: the smallest value with 90% of values at or below it
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def compute(db: Database, now: datetime, days: int, probe_components: Mapping[str, Iterable[str]]) -> Stats:
    since = now - timedelta(days=days)
    with db.session() as session:
        rows = list(
            session.exec(
                select(Incident).where(
                    Incident.kind == Kind.INCIDENT, Incident.started_at >= since, col(Incident.informational).is_(False)
                )
            )
        )
        views = [card(i) for i in rows]
        vendor = _vendor_minutes(session, rows, since, now)
        down, uptime = _probe_figures(session, since, now)
    tta = [v.time_to_acknowledge.total_seconds() for v in views if v.time_to_acknowledge is not None]
    ttr = [v.time_to_resolve.total_seconds() for v in views if v.time_to_resolve is not None]
    leads = [v.lead_time.total_seconds() for v in views if v.probe and v.vendor_confirmed and v.lead_time]
    probe_minutes: dict[str, float] = defaultdict(float)
    for probe, minutes in down.items():
        for component in probe_components.get(probe) or [f"probe {probe}"]:
            probe_minutes[component] += minutes
    return Stats(
        days=days,
        since=since,
        incidents=len(views),
        acknowledged=len(tta),
        mtta_median_s=median(tta),
        mtta_p90_s=p90(tta),
        mttr_median_s=median(ttr),
        mttr_p90_s=p90(ttr),
        vendor_minutes=vendor,
        probe_minutes=dict(probe_minutes),
        uptime=uptime,
        lead_median_s=median(leads),
    )


def _vendor_minutes(session: Session, incidents: list[Incident], since: datetime, now: datetime) -> dict[str, float]:
    """Minutes each component was not operational, from the vendor's own component changes."""
    names = {c.component_id: c.name for c in session.exec(select(ComponentState))}
    minutes: dict[str, float] = defaultdict(float)
    for incident in incidents:
        entries = session.exec(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == incident.id, TimelineEntry.kind == "vendor_update")
            .order_by(col(TimelineEntry.at))
        )
        down: dict[str, datetime] = {}
        for entry in entries:
            for change in entry.components:
                cid = change["id"]
                if change["new"] != "operational" and cid not in down:
                    down[cid] = entry.at
                elif change["new"] == "operational" and cid in down:
                    minutes[names.get(cid, change["name"])] += _clip(down.pop(cid), entry.at, since, now)
        end = incident.vendor_resolved_at or incident.resolved_at or now
        for cid, start in down.items():
            minutes[names.get(cid, cid)] += _clip(start, end, since, now)
    return dict(minutes)


def _clip(start: datetime, end: datetime, since: datetime, now: datetime) -> float:
    return max(0.0, (min(end, now) - max(start, since)).total_seconds() / 60)


ProbeFigures = tuple[dict[str, float], dict[str, float | None]]


def _probe_figures(session: Session, since: datetime, now: datetime) -> ProbeFigures:
    """Minutes each probe saw failures (a failing result counts until the next result) and its uptime."""
    down: dict[str, float] = defaultdict(float)
    good: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    results = session.exec(
        select(ProbeResult)
        .where(ProbeResult.at >= since, ProbeResult.at <= now)
        .order_by(ProbeResult.probe, col(ProbeResult.at))
    )
    previous: ProbeResult | None = None
    for result in results:
        if previous is not None and previous.probe == result.probe and previous.outcome in FAILING:
            down[result.probe] += (result.at - previous.at).total_seconds() / 60
        if result.outcome in COUNTED:
            total[result.probe] += 1
            good[result.probe] += result.outcome == "ok"
        previous = result
    for rollup in session.exec(select(ProbeRollup).where(ProbeRollup.start >= since, ProbeRollup.start <= now)):
        total[rollup.probe] += rollup.count
        good[rollup.probe] += rollup.count - rollup.failures
        down[rollup.probe] += rollup.seconds / 60 * rollup.failures / max(1, rollup.count)
    uptime = {probe: (good[probe] / total[probe]) if total[probe] else None for probe in total}
    return dict(down), uptime


def _dur(seconds: float | None) -> str:
    return human_duration(timedelta(seconds=seconds)) if seconds is not None else "-"


def describe(stats: Stats) -> list[str]:
    """The figures as lines of text, for `/claude stats` and `statusbot stats`."""
    lines = [
        f"{stats.incidents} incidents in the last {stats.days} days ({stats.acknowledged} acknowledged)",
        f"MTTA: median {_dur(stats.mtta_median_s)}, p90 {_dur(stats.mtta_p90_s)}",
        f"MTTR: median {_dur(stats.mttr_median_s)}, p90 {_dur(stats.mttr_p90_s)}",
        f"Our lead over the vendor's first update: median {_dur(stats.lead_median_s)}",
    ]
    for name, minutes in sorted(stats.vendor_minutes.items(), key=lambda kv: -kv[1]):
        seen = stats.probe_minutes.get(name)
        ours = f", {seen:.0f} min seen by our probes" if seen is not None else ""
        lines.append(f"{name}: {minutes:.0f} min of impact per the vendor{ours}")
    for name, minutes in stats.probe_minutes.items():
        if name not in stats.vendor_minutes:
            lines.append(f"{name}: {minutes:.0f} min seen by our probes, none acknowledged by the vendor")
    for probe, up in sorted(stats.uptime.items()):
        lines.append(f"Probe {probe} uptime: {up * 100:.3f}%" if up is not None else f"Probe {probe}: no results")
    return lines
