"""Rows as plain values: what `bot.store.reader` reads without the ORM, for the CLI's look-only
commands. Each record has exactly its table's columns, under the names the ORM model gives them, so
the cards (`bot.engine.views`) and the JSON shapes (`bot.serialize`) take either (tests/test_reader.py
holds the two to the same columns and the same output)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

if TYPE_CHECKING:
    from bot.store import models


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    id: int
    service: str
    source: str
    upstream_id: str | None
    kind: str
    title: str
    status: str
    impact: str
    components: list[dict[str, str]]
    shortlink: str | None
    announced: bool
    preexisting: bool
    probe_name: str | None
    informational: bool
    models: list[str]
    unaffected: bool
    flapping: bool
    started_at: datetime
    detected_at: datetime | None
    signalled_at: datetime | None
    vendor_acknowledged_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_by_id: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    resolved_by_id: str | None
    vendor_started_at: datetime | None
    vendor_resolved_at: datetime | None
    snoozed_until: datetime | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class EntryRecord:
    id: int
    incident_id: int
    at: datetime
    recorded_at: datetime
    kind: str
    source: str
    upstream_id: str | None
    status: str | None
    body: str
    actor: str | None
    actor_id: str | None
    components: list[dict[str, str]]
    resolves: bool


@dataclass(frozen=True, slots=True)
class ComponentRecord:
    service: str
    component_id: str
    name: str
    status: str
    position: int
    is_group: bool
    upstream_updated_at: datetime | None
    seen_at: datetime


@dataclass(frozen=True, slots=True)
class StreamRecord:
    """An `incident_stream` row: a stream that saw an incident."""

    incident_id: int
    stream: str
    source: str
    model: str | None
    probe: str | None
    first_seen: datetime
    failing_since: datetime
    state: str
    changed_at: datetime


@dataclass(frozen=True, slots=True)
class ResultRecord:
    """A `probe_result` row: one probe attempt."""

    id: int
    probe: str
    at: datetime
    outcome: str
    latency_ms: float | None
    status_code: int | None
    error_type: str | None
    request_id: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class ProbeStateRecord:
    probe: str
    state: dict[str, Any]


TABLES: dict[type, str] = {
    IncidentRecord: "incident",
    EntryRecord: "timeline_entry",
    ComponentRecord: "component_state",
    StreamRecord: "incident_stream",
    ResultRecord: "probe_result",
    ProbeStateRecord: "probe_state",
}

if TYPE_CHECKING:  # what the cards and the JSON shapes take: a model read by the ORM, or a record
    AnyIncident: TypeAlias = models.Incident | IncidentRecord
    AnyEntry: TypeAlias = models.TimelineEntry | EntryRecord
    AnyComponent: TypeAlias = models.ComponentState | ComponentRecord
    AnyStream: TypeAlias = models.IncidentStream | StreamRecord
    AnyResult: TypeAlias = models.ProbeResult | ResultRecord
