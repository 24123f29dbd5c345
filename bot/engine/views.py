"""Read-only, chat-agnostic views of incidents: what sinks and commands render. Pure: a card is made
from an incident read by the ORM or by `bot.store.reader` alike; `bot.engine.live_cards` reads what
else a card shows (its streams, the team's traffic now) through a session."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.engine import durations, model_names
from bot.engine.durations import Durations
from bot.engine.durations import human_duration as human_duration  # re-exported: renderers import it from here
from bot.engine.quiet import quiet
from bot.engine.streams import Stream
from bot.store.enums import EntryKind, Kind, Status, StreamState

if TYPE_CHECKING:
    from bot.store.records import AnyEntry, AnyIncident, AnyStream

STATUS_ICON: dict[str, str] = {
    Status.INVESTIGATING: "🔴",
    Status.IDENTIFIED: "🟠",
    Status.MONITORING: "🟡",
    Status.RESOLVED: "✅",
    Status.SCHEDULED: "🗓️",
    Status.IN_PROGRESS: "🔧",
    Status.VERIFYING: "🔧",
}
MAINTENANCE_ICON = "🔧"
ENTRY_LABEL: dict[str, str] = {  # a vendor update is labelled by its status instead
    EntryKind.ACK: "Acknowledged",
    EntryKind.RESOLVE: "Resolved",
    EntryKind.CLOSED_MISSING: "Closed",
    EntryKind.NOTE: "Note",
    EntryKind.PROBE: "Probe",
    EntryKind.REOPEN: "Reopened",
    EntryKind.REMINDER: "Reminder",
    EntryKind.ESCALATION: "Escalation",
    EntryKind.SNOOZE: "Snoozed",
}
SIGNED_BY_PERSON = frozenset({EntryKind.ACK, EntryKind.RESOLVE})  # shown as "by @someone"


def words(value: str) -> str:
    """A status or kind as words: `in_progress` -> `in progress`."""
    return value.replace("_", " ")


@dataclass(frozen=True)
class StreamView:
    """One stream that saw the incident, as the card names it."""

    key: str
    source: str  # probe | traffic | alertmanager
    label: str  # `Probe api on claude-opus-4-5`
    model: str | None
    failing: bool
    first_seen: datetime


@dataclass(frozen=True)
class IncidentCard:
    id: int
    service: str
    kind: str
    title: str
    status: str
    impact: str
    components: tuple[str, ...]
    shortlink: str | None
    started_at: datetime
    detected_at: datetime | None  # None: recorded as history, never seen live
    vendor_acknowledged_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    acknowledged_by_id: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    preexisting: bool
    probe: str | None = None
    vendor_confirmed: bool = True
    informational: bool = False
    flapping: bool = False
    traffic: tuple[str, ...] = ()  # what the team's own calls say now: `your traffic: 23% errors on ...`
    probes: tuple[str, ...] = ()  # what its probe streams say, per model: `Probe api on claude-...: failing, ...`
    vendor_started_at: datetime | None = None
    vendor_resolved_at: datetime | None = None
    streams: tuple[StreamView, ...] = ()  # every stream that saw it, first first
    signalled_at: datetime | None = None  # when our first stream reported it
    models: tuple[str, ...] = ()  # the models the vendor names (`opus-4.5`)
    unaffected: bool = False  # the vendor names only models nobody here uses
    quiet: bool = False  # tracked and shown, no reminders (impact none, no model in use, informational)

    @property
    def seen_by(self) -> str:
        """`probe api on claude-opus-4-5 (failing), traffic from checkout on claude-opus-4-5 (recovered)`."""
        return ", ".join(
            f"{s.label[:1].lower()}{s.label[1:]} ({'failing' if s.failing else 'recovered'})" for s in self.streams
        )

    @property
    def quiet_note(self) -> str | None:
        """Why an incident stays quiet: it names only models nobody here uses, or has no impact."""
        if self.unaffected:
            return f"does not affect the models we use (it names {model_names.labels(self.models)})"
        if self.quiet and self.impact == "none":
            return "no impact: tracked quietly, no reminders"
        return None

    @property
    def remarks(self) -> list[str]:
        """Short notes every platform shows beside the card's facts."""
        notes = ["already in progress when statusbot started"] if self.preexisting else []
        if self.informational:
            notes.append("informational: none of the components your probes use")
        notes += [self.quiet_note] if self.quiet_note else []
        if self.flapping:
            notes.append("flapping")
        return notes + list(self.probes) + list(self.traffic)

    @property
    def vendor_status(self) -> str:
        """What the vendor has said, for incidents our probes saw first."""
        if self.vendor_confirmed:
            return "acknowledged by the vendor"
        return "not yet acknowledged by the vendor (its status page says nothing)"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def icon(self) -> str:
        if self.kind == Kind.MAINTENANCE and self.is_open:
            return MAINTENANCE_ICON
        return STATUS_ICON.get(self.status, STATUS_ICON[Status.INVESTIGATING])

    def durations(self, now: datetime) -> Durations:
        """Every figure shown about this incident (see bot/engine/durations.py)."""
        return durations.compute(
            started=self.started_at,
            detected=self.detected_at,
            vendor_first_update=self.vendor_acknowledged_at,
            acknowledged=self.acknowledged_at,
            resolved=self.resolved_at,
            vendor_started=self.vendor_started_at,
            vendor_resolved=self.vendor_resolved_at,
            now=now,
            signalled=self.signalled_at,
        )

    @property
    def timing(self) -> str | None:
        """Who knew first, in words: `seen 6m 12s before the vendor posted` (see durations.py)."""
        return self.durations(self.resolved_at or self.started_at).timing

    def duration(self, now: datetime) -> timedelta:
        return self.durations(now).lasted

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return durations.span(self.detected_at, self.acknowledged_at)

    @property
    def time_to_resolve(self) -> timedelta | None:
        return durations.span(self.detected_at, self.resolved_at)

    @property
    def lead_time(self) -> timedelta | None:
        """How much earlier we knew than the vendor said so; None unless we were first."""
        return durations.lead(self.signalled_at or self.detected_at, self.vendor_acknowledged_at)[0]


@dataclass(frozen=True)
class EntryView:
    id: int
    incident_id: int
    kind: str
    at: datetime
    source: str
    status: str | None
    body: str
    actor: str | None
    actor_id: str | None
    components: tuple[tuple[str, str, str], ...]  # (name, old, new)
    resolves: bool

    @property
    def is_vendor_update(self) -> bool:
        return self.kind == EntryKind.VENDOR_UPDATE

    @property
    def label(self) -> str:
        """`Identified` for a vendor update, `Acknowledged` for an ack; an unknown kind by its name."""
        if self.is_vendor_update:
            return words(self.status or "update").capitalize()
        return ENTRY_LABEL.get(self.kind) or words(self.kind).capitalize()

    @property
    def signed_by_person(self) -> bool:
        return self.kind in SIGNED_BY_PERSON


def resolved_after(card: IncidentCard, at: datetime) -> str:
    """`after 2h 53m, TTR 2h 50m`: how long it lasted, and (when we saw it live) its time to resolve."""
    figures = card.durations(at)
    ttr = f", TTR {human_duration(figures.ttr)}" if figures.ttr is not None else ""
    return f"after {human_duration(figures.lasted)}{ttr}"


def stream_view(row: AnyStream) -> StreamView:
    label = Stream.of(row).label
    return StreamView(row.stream, row.source, label, row.model, row.state == StreamState.FAILING, row.first_seen)


def card(
    incident: AnyIncident,
    traffic: tuple[str, ...] = (),
    streams: tuple[StreamView, ...] = (),
    probes: tuple[str, ...] = (),
) -> IncidentCard:
    assert incident.id is not None
    return IncidentCard(
        id=incident.id,
        service=incident.service,
        kind=incident.kind,
        title=incident.title,
        status=incident.status,
        impact=incident.impact,
        components=tuple(c["name"] for c in incident.components),
        shortlink=incident.shortlink,
        started_at=incident.started_at,
        detected_at=incident.detected_at,
        vendor_acknowledged_at=incident.vendor_acknowledged_at,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        acknowledged_by_id=incident.acknowledged_by_id,
        resolved_at=incident.resolved_at,
        resolved_by=incident.resolved_by,
        preexisting=incident.preexisting,
        probe=incident.probe_name,
        vendor_confirmed=incident.upstream_id is not None,
        informational=incident.informational,
        flapping=incident.flapping,
        traffic=traffic,
        probes=probes,
        vendor_started_at=incident.vendor_started_at,
        vendor_resolved_at=incident.vendor_resolved_at,
        streams=streams,
        signalled_at=incident.signalled_at,
        models=tuple(incident.models),
        unaffected=incident.unaffected,
        quiet=quiet(incident),
    )


def entry_view(entry: AnyEntry) -> EntryView:
    assert entry.id is not None
    return EntryView(
        id=entry.id,
        incident_id=entry.incident_id,
        kind=entry.kind,
        at=entry.at,
        source=entry.source,
        status=entry.status,
        body=entry.body,
        actor=entry.actor,
        actor_id=entry.actor_id,
        components=tuple((c["name"], c.get("old", ""), c["new"]) for c in entry.components),
        resolves=entry.resolves,
    )
