"""The cards with what else they show, read through a session: the streams that saw the incident,
what its probe streams and the team's own traffic say now."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from bot.engine import seen_by
from bot.engine.probe_lines import stream_line
from bot.engine.streams import PROBE
from bot.engine.views import IncidentCard, card, stream_view
from bot.store import probe_status
from bot.store.models import Incident
from bot.store.traffic import RECENT, TrafficTotal, totals

TRAFFIC_LINES = 3


def card_in(session: Session, incident: Incident) -> IncidentCard:
    """The card with the streams that saw the incident."""
    return card(incident, streams=tuple(stream_view(row) for row in seen_by.of_incident(session, incident)))


def live_card(session: Session, incident: Incident, now: datetime) -> IncidentCard:
    """The card with what the team's own traffic says now, on the incident's models (when its streams
    name any), else on the models whose calls fail most."""
    streams = tuple(stream_view(row) for row in seen_by.of_incident(session, incident))
    models = sorted({s.model for s in streams if s.model})
    recent = totals(session, incident.service, now - RECENT, models or None)
    probes = probe_status.statuses(session, [(s.key, s.model) for s in streams if s.source == PROBE])
    lines = tuple(stream_line(status, now, last=False) for status in probes)
    return card(incident, tuple(traffic_line(total) for total in recent[:TRAFFIC_LINES]), streams, lines)


def incident_models(session: Session, incident: Incident) -> list[str]:
    """The models the streams that saw the incident call."""
    return sorted({row.model for row in seen_by.of_incident(session, incident) if row.model})


def traffic_line(total: TrafficTotal, span: timedelta = RECENT) -> str:
    """`your traffic: 23% errors on claude-opus-4-5 (1,204 calls in the last 5 min)`."""
    rate = 100 * total.error_rate
    shown = f"{rate:.0f}" if rate >= 10 or rate == 0 else f"{rate:.1f}"
    minutes = int(span.total_seconds() // 60)
    return f"your traffic: {shown}% errors on {total.model} ({total.calls:,} calls in the last {minutes} min)"
