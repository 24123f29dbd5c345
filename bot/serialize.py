"""The stable JSON shapes of `--json` output (documented in the README). Add keys; never rename."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.engine.views import IncidentCard, card

if TYPE_CHECKING:
    from bot.store.records import AnyComponent, AnyEntry, AnyIncident


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _seconds(delta: timedelta | None) -> float | None:
    return round(delta.total_seconds(), 3) if delta is not None else None


def incident_json(
    incident: AnyIncident, now: datetime | None = None, view: IncidentCard | None = None
) -> dict[str, Any]:
    """`view`: the card with the streams that saw it (`live_cards.card_in`, `Reader.card`); without it,
    `streams` is empty."""
    view = view or card(incident)
    figures = view.durations(now or datetime.now(UTC))
    return {
        "id": view.id,
        "service": view.service,
        "kind": view.kind,
        "title": view.title,
        "status": view.status,
        "impact": view.impact,
        "components": list(view.components),
        "source": incident.source,
        "upstream_id": incident.upstream_id,
        "url": view.shortlink,
        "started_at": _time(view.started_at),
        "detected_at": _time(view.detected_at),
        "vendor_acknowledged_at": _time(view.vendor_acknowledged_at),
        "acknowledged_at": _time(view.acknowledged_at),
        "acknowledged_by": view.acknowledged_by,
        "resolved_at": _time(view.resolved_at),
        "resolved_by": view.resolved_by,
        "time_to_acknowledge_s": _seconds(figures.tta),
        "time_to_resolve_s": _seconds(figures.ttr),
        "lead_time_s": _seconds(figures.lead),
        "duration_s": _seconds(figures.lasted),
        "vendor_time_to_resolve_s": _seconds(figures.vendor_ttr),
        "vendor_was_first": figures.vendor_first,
        "signalled_at": _time(view.signalled_at),
        "models": list(view.models),
        "affects_models_in_use": not view.unaffected,
        "streams": [
            {
                "key": s.key,
                "source": s.source,
                "model": s.model,
                "failing": s.failing,
                "first_seen": _time(s.first_seen),
            }
            for s in view.streams
        ],
    }


def entry_json(entry: AnyEntry) -> dict[str, Any]:
    return {
        "at": _time(entry.at),
        "kind": entry.kind,
        "source": entry.source,
        "status": entry.status,
        "body": entry.body,
        "actor": entry.actor,
        "upstream_id": entry.upstream_id,
        "components": [
            {"id": c["id"], "name": c["name"], "old_status": c.get("old") or None, "new_status": c["new"]}
            for c in entry.components
        ],
    }


def component_json(component: AnyComponent) -> dict[str, Any]:
    return {
        "service": component.service,
        "id": component.component_id,
        "name": component.name,
        "status": component.status,
        "updated_at": _time(component.upstream_updated_at),
    }
