"""Every fact statusbot saw about one incident, gathered for the postmortem draft and its chart."""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.engine.durations import Durations, human_duration
from bot.engine.live_cards import card_in, incident_models
from bot.engine.streams import PROBE
from bot.engine.views import EntryView, IncidentCard, entry_view
from bot.store import queries, traffic
from bot.store.db import Database
from bot.store.models import Incident, ProbeResult

MARGIN = timedelta(minutes=10)
HUMAN = ("ack", "resolve", "snooze")
SEVERITY = {"critical": "SEV1", "major": "SEV2", "minor": "SEV3", "none": "SEV4", "maintenance": "—"}


@dataclass(frozen=True)
class Moment:
    at: datetime
    source: str  # vendor | probe | people | statusbot
    text: str


@dataclass(frozen=True)
class ProbeWindow:
    probes: tuple[str, ...]
    results: tuple[ProbeResult, ...]
    first_failure: datetime | None
    failures: int
    error_types: tuple[tuple[str, int], ...]
    latency_p50_ms: float | None
    latency_p95_ms: float | None


@dataclass(frozen=True)
class TrafficWindow:
    """The team's own calls across the window, per minute: (minute, calls, failures)."""

    minutes: tuple[tuple[datetime, int, int], ...] = ()

    @property
    def calls(self) -> int:
        return sum(n for _, n, _ in self.minutes)

    @property
    def failures(self) -> int:
        return sum(f for _, _, f in self.minutes)

    @property
    def worst(self) -> tuple[datetime, float] | None:
        """The minute with the highest error rate, and that rate in percent."""
        rated = [(at, 100.0 * f / n) for at, n, f in self.minutes if n]
        return max(rated, key=lambda pair: pair[1]) if rated else None


@dataclass(frozen=True)
class PostmortemData:
    incident: IncidentCard
    upstream_id: str | None
    severity: str
    timeline: tuple[Moment, ...]
    vendor_updates: tuple[EntryView, ...]
    people: tuple[EntryView, ...]
    probe: ProbeWindow
    window: tuple[datetime, datetime]
    vendor_ttr: timedelta | None
    vendor_postmortem_url: str | None
    generated_at: datetime
    durations: dict[str, str] = field(default_factory=dict)
    summary: str = ""
    traffic: TrafficWindow = field(default_factory=TrafficWindow)


def gather(db: Database, incident_id: int, now: datetime) -> PostmortemData:
    with db.session() as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise LookupError(f"There is no incident #{incident_id}.")
        entries = [entry_view(e) for e in queries.timeline(session, incident_id)]
        view = card_in(session, incident)
        first = min(view.started_at, view.detected_at or view.started_at)
        window = (first - MARGIN, (view.resolved_at or now) + MARGIN)
        probe = _probe_window(session, _probe_streams(view), window)
        models = incident_models(session, incident) or None
        own = TrafficWindow(tuple(traffic.per_minute(session, incident.service, *window, models)))
    vendor = tuple(e for e in entries if e.kind == "vendor_update")
    figures = view.durations(now)
    return PostmortemData(
        incident=view,
        upstream_id=incident.upstream_id,
        severity=SEVERITY.get(view.impact, view.impact),
        timeline=tuple(sorted(_moments(entries, probe), key=lambda m: m.at)),
        vendor_updates=vendor,
        people=tuple(e for e in entries if e.kind in HUMAN),
        probe=probe,
        window=window,
        vendor_ttr=figures.vendor_ttr,
        vendor_postmortem_url=view.shortlink if any(e.status == "postmortem" for e in vendor) else None,
        generated_at=now,
        durations=_durations(figures),
        summary=_summary(view, figures),
        traffic=own,
    )


def _summary(view: IncidentCard, figures: Durations) -> str:
    lasted = human_duration(figures.lasted)
    span = (
        f" to {view.resolved_at:%Y-%m-%d %H:%M} UTC ({lasted})"
        if view.resolved_at
        else f", still open ({lasted} so far)"
    )
    what = "maintenance" if view.kind == "maintenance" else "incident"
    text = f"{view.service} {what} from {view.started_at:%Y-%m-%d %H:%M} UTC{span}, {view.impact} impact."
    ours = ", ".join(f"{s.label[:1].lower()}{s.label[1:]}" for s in view.streams) or f"probe `{view.probe}`"
    if view.probe and view.vendor_confirmed:
        first = f"saw it first ({figures.timing})" if figures.lead is not None else "saw it too"
        text += f" Ours ({ours}) {first}; the vendor confirmed it on its status page."
    elif view.probe:
        text += f" Only ours ({ours}) saw it; the vendor never acknowledged it."
    else:
        text += " Reported by the vendor's status page."
    if not figures.detected:
        text += " statusbot recorded it as history, not live: it has no figures from our detection."
    return text + (f" Resolved by {view.resolved_by}." if view.resolved_by else "")


def _durations(figures: Durations) -> dict[str, str]:
    return {
        "tta": human_duration(figures.tta),
        "ttr": human_duration(figures.ttr),
        "vendor_ttr": human_duration(figures.vendor_ttr),
        "lead": figures.lead_text,
        "duration": human_duration(figures.lasted),
    }


def _probe_streams(view: IncidentCard) -> list[str] | None:
    """The probe streams that saw it (their results are charted); None: every probe's, for the vendor's own."""
    keys = [s.key for s in view.streams if s.source == PROBE]
    return keys or (None if not view.streams else [])


def _probe_window(session: Session, probes: list[str] | None, window: tuple[datetime, datetime]) -> ProbeWindow:
    query = select(ProbeResult).where(ProbeResult.at >= window[0], ProbeResult.at <= window[1])
    if probes is not None:
        query = query.where(col(ProbeResult.probe).in_(probes))
    results = tuple(session.exec(query.order_by(col(ProbeResult.at))))
    failed = [r for r in results if r.outcome in ("failure", "degraded")]
    latencies = [r.latency_ms for r in results if r.latency_ms is not None and r.outcome != "failure"]
    quantiles = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    return ProbeWindow(
        probes=tuple(sorted({r.probe for r in results})),
        results=results,
        first_failure=failed[0].at if failed else None,
        failures=len(failed),
        error_types=tuple(Counter(r.error_type or r.outcome for r in failed).most_common()),
        latency_p50_ms=quantiles[49] if quantiles else None,
        latency_p95_ms=quantiles[94] if quantiles else None,
    )


def _moments(entries: list[EntryView], probe: ProbeWindow) -> list[Moment]:
    moments = []
    for entry in entries:
        if entry.kind == "vendor_update":
            moments.append(Moment(entry.at, "vendor", f"**{entry.status}** — {entry.body}"))
        elif entry.kind in HUMAN:
            moments.append(Moment(entry.at, "people", entry.body))
        elif entry.kind in ("probe", "reopen"):
            moments.append(Moment(entry.at, "probe", entry.body))
        elif entry.kind in ("escalation", "closed_missing", "note"):
            moments.append(Moment(entry.at, "statusbot", entry.body))
    if probe.first_failure is not None:
        moments.append(Moment(probe.first_failure, "probe", f"First failing probe result ({', '.join(probe.probes)})."))
    return moments
