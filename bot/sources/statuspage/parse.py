"""Statuspage JSON (v2 API and subscriber webhooks) into normalised events.

Tolerant where real pages differ (unknown fields, `incident_updates` missing, `affected_components:
null`, incident.io-backed pages with ULID ids), strict where the data is unusable: a document that is
not the expected shape raises `ParseError` with one clear line; one broken incident is skipped and
named, the rest of the page still counts.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.clock import parse_time
from bot.engine.events import (
    ComponentChange,
    ComponentObserved,
    IncidentObserved,
    PageSnapshot,
    UpdateObserved,
)

log = logging.getLogger(__name__)
SOURCE = "statuspage"


class ParseError(ValueError):
    """The document is not what a Statuspage API returns."""


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore")


class WireAffected(_Wire):
    code: str
    name: str = ""
    old_status: str | None = None
    new_status: str = "operational"


class WireUpdate(_Wire):
    id: str
    status: str
    body: str = ""
    created_at: datetime
    display_at: datetime | None = None
    affected_components: list[WireAffected] | None = None


class WireComponent(_Wire):
    id: str
    name: str
    status: str = "operational"
    updated_at: datetime | None = None
    position: int | None = 0
    group: bool | None = False


class WireIncident(_Wire):
    id: str
    name: str
    status: str
    impact: str = "none"
    created_at: datetime
    started_at: datetime | None = None
    resolved_at: datetime | None = None
    shortlink: str | None = None
    scheduled_for: datetime | None = None
    incident_updates: list[WireUpdate] = Field(default_factory=list)
    components: list[WireComponent] | None = None

    @field_validator("incident_updates", mode="before")
    @classmethod
    def _null_updates(cls, value: Any) -> Any:
        return [] if value is None else value


def incident_event(raw: WireIncident, service: str, maintenance: bool = False) -> IncidentObserved:
    updates = tuple(_update(u) for u in reversed(raw.incident_updates))  # the page lists newest first
    components = tuple((c.id, c.name) for c in raw.components or ())
    return IncidentObserved(
        service=service,
        source=SOURCE,
        upstream_id=raw.id,
        title=raw.name,
        status=raw.status,
        impact=raw.impact,
        started_at=_utc(raw.started_at or raw.scheduled_for or raw.created_at),
        resolved_at=_utc(raw.resolved_at) if raw.resolved_at else None,
        shortlink=raw.shortlink,
        is_maintenance=maintenance or raw.impact == "maintenance",
        components=components,
        updates=tuple(sorted(updates, key=lambda u: u.at)),
    )


def _update(raw: WireUpdate) -> UpdateObserved:
    changes = tuple(
        ComponentChange(a.code, a.name, a.old_status, a.new_status)
        for a in raw.affected_components or ()
        if a.old_status != a.new_status
    )
    return UpdateObserved(
        upstream_id=raw.id,
        status=raw.status,
        body=raw.body.strip(),
        at=_utc(raw.display_at or raw.created_at),
        changes=changes,
    )


def _utc(moment: datetime) -> datetime:
    parsed = parse_time(moment.isoformat())
    assert parsed is not None
    return parsed


def component_event(raw: WireComponent, service: str) -> ComponentObserved:
    return ComponentObserved(
        service=service,
        component_id=raw.id,
        name=raw.name,
        status=raw.status,
        at=_utc(raw.updated_at) if raw.updated_at else None,
        position=raw.position or 0,
        is_group=bool(raw.group),
    )


def _document(data: Any, key: str, what: str) -> list[Any]:
    if not isinstance(data, dict):
        raise ParseError(f"{what}: expected a JSON object, got {type(data).__name__}")
    items = data.get(key)
    if not isinstance(items, list):
        raise ParseError(f"{what}: no '{key}' list in the document")
    return items


def _each(items: list[Any], model: type[_Wire], what: str) -> list[Any]:
    parsed = []
    for index, item in enumerate(items):
        try:
            parsed.append(model.model_validate(item))
        except ValidationError as exc:
            ident = item.get("id", f"item {index}") if isinstance(item, dict) else f"item {index}"
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            log.warning("%s: skipped %s: %s: %s", what, ident, field or "item", first["msg"])
    return parsed


def parse_incidents(data: Any, service: str) -> tuple[IncidentObserved, ...]:
    """`/api/v2/incidents.json` (or `incidents/unresolved.json`)."""
    wires = _each(_document(data, "incidents", "incidents.json"), WireIncident, "incidents.json")
    return tuple(incident_event(w, service) for w in wires)


def parse_summary(data: Any, service: str) -> PageSnapshot:
    """`/api/v2/summary.json`: components and maintenance windows (incident.io pages omit the latter)."""
    components = _each(_document(data, "components", "summary.json"), WireComponent, "summary.json")
    maint_raw = data.get("scheduled_maintenances")
    maintenances = None
    if isinstance(maint_raw, list):
        wires = _each(maint_raw, WireIncident, "summary.json maintenance")
        maintenances = tuple(incident_event(w, service, maintenance=True) for w in wires)
    return PageSnapshot(
        service=service,
        source=SOURCE,
        components=tuple(component_event(c, service) for c in components),
        maintenances=maintenances,
    )


def parse_webhook(data: Any, service: str) -> IncidentObserved | ComponentObserved:
    """A Statuspage subscriber webhook: the incident kind or the component kind."""
    if not isinstance(data, dict):
        raise ParseError("webhook: expected a JSON object")
    try:
        if isinstance(data.get("incident"), dict):
            return incident_event(WireIncident.model_validate(data["incident"]), service)
        if isinstance(data.get("component"), dict):
            return component_event(WireComponent.model_validate(data["component"]), service)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ParseError(f"webhook: {'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None
    raise ParseError("webhook: neither an 'incident' nor a 'component' payload")
