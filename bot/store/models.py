"""The tables. The schema itself exists only through the Alembic migrations in `migrations/`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.enums import Kind, Status, StreamState
from bot.store.types import UTCDateTime


def _time(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime(), nullable=nullable, index=index))


class Incident(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("service", "source", "upstream_id", name="uq_incident_upstream"),)

    id: int | None = Field(default=None, primary_key=True)
    service: str = Field(index=True)
    source: str
    upstream_id: str | None = None
    kind: str = Kind.INCIDENT
    title: str
    status: str
    impact: str = "none"
    components: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    shortlink: str | None = None
    announced: bool = False
    preexisting: bool = False
    probe_name: str | None = None  # the key of the first stream that saw it (see IncidentStream for all)
    informational: bool = False  # the vendor's incident touches none of the components our probes map
    models: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # the vendor names
    unaffected: bool = False  # the vendor names only models nobody here uses
    flapping: bool = False
    started_at: datetime = _time(nullable=False)
    detected_at: datetime | None = _time()  # None: recorded as history (first start, backfill), never seen live
    signalled_at: datetime | None = _time()  # when our first stream reported it (crossed its threshold)
    vendor_acknowledged_at: datetime | None = _time()
    acknowledged_at: datetime | None = _time()
    acknowledged_by: str | None = None
    acknowledged_by_id: str | None = None
    resolved_at: datetime | None = _time(index=True)
    resolved_by: str | None = None
    resolved_by_id: str | None = None
    vendor_started_at: datetime | None = _time()  # the vendor's own start, for its TTR
    vendor_resolved_at: datetime | None = _time()  # the vendor's own resolution, for its TTR
    snoozed_until: datetime | None = _time()
    updated_at: datetime = _time(nullable=False)

    @property
    def is_open(self) -> bool:
        return self.status != Status.RESOLVED


class IncidentStream(SQLModel, table=True):
    """Every stream (a probe's model, the team's traffic on a model, an alert) that saw an incident,
    with its last state: recovery and the `agree` policy wait for all of them."""

    __tablename__ = "incident_stream"
    __table_args__ = (Index("ix_incident_stream_stream", "stream"),)

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    stream: str = Field(primary_key=True)  # the stream's key (bot/engine/streams.py)
    source: str  # probe | traffic | alertmanager
    model: str | None = None
    probe: str | None = None  # the [[probes]] entry, for a probe's stream
    first_seen: datetime = _time(nullable=False)  # when the stream first reported it (crossed its threshold)
    failing_since: datetime = _time(nullable=False)  # the start of the failures that crossed it
    state: str = StreamState.FAILING
    changed_at: datetime = _time(nullable=False)


class TimelineEntry(SQLModel, table=True):
    __tablename__ = "timeline_entry"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "upstream_id", name="uq_entry_upstream"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: datetime = _time(nullable=False)
    recorded_at: datetime = _time(nullable=False)
    kind: str
    source: str
    upstream_id: str | None = None
    status: str | None = None
    body: str = ""
    actor: str | None = None
    actor_id: str | None = None
    components: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    resolves: bool = False


class ComponentState(SQLModel, table=True):
    __tablename__ = "component_state"

    service: str = Field(primary_key=True)
    component_id: str = Field(primary_key=True)
    name: str
    status: str
    position: int = 0
    is_group: bool = False
    upstream_updated_at: datetime | None = _time()
    seen_at: datetime = _time(nullable=False)


class ChatThread(SQLModel, table=True):
    __tablename__ = "chat_thread"
    __table_args__ = (UniqueConstraint("incident_id", "sink", name="uq_thread_sink"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    sink: str
    channel: str = ""
    parent_ref: str
    thread_ref: str | None = None
    created_at: datetime = _time(nullable=False)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_pending", "sink", "delivered_at", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    sink: str
    incident_id: int = Field(foreign_key="incident.id", index=True)
    action: str
    entry_id: int | None = Field(default=None, foreign_key="timeline_entry.id")
    created_at: datetime = _time(nullable=False)
    attempts: int = 0
    next_attempt_at: datetime = _time(nullable=False)
    delivered_at: datetime | None = _time()
    gave_up: bool = False
    last_error: str | None = None


class SourceState(SQLModel, table=True):
    """Per polled document: its ETag, health, and whether the first (silent) import happened."""

    __tablename__ = "source_state"

    key: str = Field(primary_key=True)
    etag: str | None = None
    baselined: bool = False
    last_success_at: datetime | None = _time()
    last_failure_at: datetime | None = _time()
    failures: int = 0
    last_error: str | None = None


class ProbeResult(SQLModel, table=True):
    __tablename__ = "probe_result"
    __table_args__ = (Index("ix_probe_result_probe_at", "probe", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    probe: str
    at: datetime = _time(nullable=False)
    outcome: str
    latency_ms: float | None = None
    status_code: int | None = None
    error_type: str | None = None
    request_id: str | None = None
    detail: str | None = None


class ProbeRollup(SQLModel, table=True):
    """Results older than the raw retention, per minute (then per hour after 90 days)."""

    __tablename__ = "probe_rollup"

    probe: str = Field(primary_key=True)
    start: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    seconds: int = Field(primary_key=True)
    count: int = 0
    failures: int = 0
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_max_ms: float | None = None


class ProbeState(SQLModel, table=True):
    """The detector's state per probe, so a restart neither forgets an outage nor opens it twice."""

    __tablename__ = "probe_state"

    probe: str = Field(primary_key=True)
    state: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Reminder(SQLModel, table=True):
    """The next reminder of an unacknowledged incident. One pending row per incident: sending it
    writes the next one in the same transaction, so a restart can neither burst nor repeat."""

    __tablename__ = "reminder"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    due_at: datetime = _time(nullable=False, index=True)
    sent: int = 0  # reminders sent so far
    escalated: bool = False


class TrafficRollup(SQLModel, table=True):
    """Your own calls' outcomes per minute (per hour after 90 days), per service, source, model and sender.
    No per-call rows. `fed_*` is what the detector has already counted of this row."""

    __tablename__ = "traffic_rollup"
    __table_args__ = (Index("ix_traffic_rollup_received", "received_at"),)

    service: str = Field(primary_key=True)
    source: str = Field(primary_key=True)
    model: str = Field(primary_key=True)
    start: datetime = Field(sa_column=Column(UTCDateTime(), primary_key=True))
    seconds: int = Field(primary_key=True)
    sender: str = Field(primary_key=True)  # `counts:<sender>` (running totals) or `calls:<sender>` (sums)
    ok: int = 0
    failures: int = 0
    throttled: int = 0
    caller: int = 0  # the caller's own 4xx: never an outage
    errors: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    latency_p95_ms: float | None = None
    fed_ok: int = 0
    fed_failures: int = 0
    received_at: datetime = _time(nullable=False)

    @property
    def calls(self) -> int:
        return self.ok + self.failures + self.throttled + self.caller


class SignalReceipt(SQLModel, table=True):
    """A raw-calls batch already taken (its digest), so the same batch sent twice counts once."""

    __tablename__ = "signal_receipt"

    service: str = Field(primary_key=True)
    digest: str = Field(primary_key=True)
    received_at: datetime = _time(nullable=False, index=True)


class AlertState(SQLModel, table=True):
    """The last state of each Alertmanager alert we took, by its fingerprint: a repeat changes nothing."""

    __tablename__ = "alert_state"

    service: str = Field(primary_key=True)
    fingerprint: str = Field(primary_key=True)
    stream: str  # `alert:<alertname>[:<model>]`
    status: str  # firing | resolved
    starts_at: datetime = _time(nullable=False)
    ends_at: datetime | None = _time()
    labels: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _time(nullable=False)


class LeaderLease(SQLModel, table=True):
    """Which replica leads (see bot/store/lease.py): one row per lease, renewed by its holder. The
    epoch grows by one at every change of holder and fences a leader that lost its lease."""

    __tablename__ = "leader_lease"

    name: str = Field(primary_key=True)
    epoch: int = 0
    holder: str | None = None
    expires_at: float = 0.0  # seconds since 1970 by the database's own clock
