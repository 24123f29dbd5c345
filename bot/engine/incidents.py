"""The incident engine: normalised events in, incident changes out.

Every change to an incident, its timeline entries and one outbox row per sink are written in one
transaction. Everything is keyed by upstream ids, so seeing the same update twice (poll and webhook,
a restart, a replay) changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session, select

from bot.clock import Clock
from bot.engine import probes, reminders
from bot.engine.events import Actor, ComponentObserved, IncidentObserved, PageSnapshot, UpdateObserved
from bot.engine.lifecycle import Lifecycle
from bot.engine.probe_events import ProbeEvents
from bot.engine.probes import ProbeMap
from bot.engine.reminders import ReminderPolicy
from bot.engine.timeline import ActionError, add_entry, get_open, incident_id, resolve_incident
from bot.store.db import Database
from bot.store.models import (
    ComponentState,
    EntryKind,
    Incident,
    Kind,
    OutboxAction,
    ProbeState,
    Status,
    TimelineEntry,
)
from bot.store.outbox import enqueue
from bot.store.queries import timeline

log = logging.getLogger(__name__)

VENDOR_STATUS = {
    "investigating": Status.INVESTIGATING,
    "identified": Status.IDENTIFIED,
    "monitoring": Status.MONITORING,
    "resolved": Status.RESOLVED,
    "postmortem": Status.RESOLVED,
    "scheduled": Status.SCHEDULED,
    "in_progress": Status.IN_PROGRESS,
    "verifying": Status.VERIFYING,
    "completed": Status.RESOLVED,
}
STATUSBOT = "statusbot"


def vendor_status(raw: str) -> Status:
    return VENDOR_STATUS.get(raw, Status.INVESTIGATING)


@dataclass
class Changes:
    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    entries: int = 0

    def __bool__(self) -> bool:
        return bool(self.opened or self.updated)


class IncidentEngine(ProbeEvents, Lifecycle):
    def __init__(
        self,
        db: Database,
        sinks: Sequence[str],
        clock: Clock,
        on_commit: Callable[[], None] | None = None,
        probes: ProbeMap | None = None,
        reminder_policy: ReminderPolicy | None = None,
        auto_resolve: str = "vendor",
    ) -> None:
        self.db = db
        self.sinks = list(sinks)
        self.clock = clock
        self.probes = probes or ProbeMap()
        self.reminder_policy = reminder_policy
        self.auto_resolve = auto_resolve
        self._on_commit = on_commit or (lambda: None)

    # -- sources -------------------------------------------------------------------------------
    def apply_snapshot(self, snap: PageSnapshot, *, baseline: bool = False) -> Changes:
        """A full poll: components, every listed incident, and incidents that vanished from the page.

        `baseline` is the first import of a page: history already resolved is recorded silently.
        """
        self.apply_components(snap.components)
        changes = Changes()
        incidents, maintenances = snap.incidents, snap.maintenances
        events = sorted((*(incidents or ()), *(maintenances or ())), key=lambda e: (e.started_at, e.upstream_id))
        for event in events:  # oldest first, so threads open in the order the incidents began
            self._merge(changes, self.apply_incident(event, baseline=baseline))
        if incidents is not None:  # None: not fetched this time (304 Not Modified)
            listed = {e.upstream_id for e in incidents}
            self._merge(
                changes,
                self.close_missing(snap.service, Kind.INCIDENT, listed, "No longer on the status page; closed."),
            )
        if maintenances is not None:
            listed = {e.upstream_id for e in (*maintenances, *(incidents or ()))}
            self._merge(
                changes, self.close_missing(snap.service, Kind.MAINTENANCE, listed, "Maintenance window ended.")
            )
        return changes

    def apply_incident(self, event: IncidentObserved, *, baseline: bool = False, history: bool = False) -> Changes:
        """`baseline`: resolved incidents are recorded silently; `history` (backfill): everything is."""
        now = self.clock.now()
        silent = history or (baseline and event.is_resolved)
        changes = Changes()
        with self.db.session() as session:
            incident = _find(session, event) or self._correlate(session, event, now)
            is_new = incident is None
            if incident is None:
                incident = _new_incident(event, now, preexisting=baseline and not silent)
                session.add(incident)
                session.flush()
            if is_new:
                incident.informational = self.probes.informational(_components(session, event))
            was_open = is_new or incident.is_open
            before = _card_fields(incident)
            new_entries = _record_updates(session, incident, event.updates, now)
            _apply_state(session, incident, event, now, hold=self._hold_for_probes(session, incident))
            if incident.is_open:
                for entry in new_entries:
                    entry.resolves = False  # the vendor said resolved, but the policy waits for the probes
            announce_now = not silent and not incident.announced and _announceable(incident, is_new)
            if announce_now:
                self._announce(session, incident, now)
            elif incident.announced:
                for entry in new_entries:
                    enqueue(session, self.sinks, incident_id(incident), OutboxAction.UPDATE, now, entry.id)
                if _card_fields(incident) != before:
                    enqueue(session, self.sinks, incident_id(incident), OutboxAction.REFRESH, now)
            if not (is_new or new_entries or _card_fields(incident) != before):
                session.rollback()
                return changes
            self._followups(session, incident, was_open, now)
            incident.updated_at = now
            session.commit()
            (changes.opened if announce_now else changes.updated).append(incident_id(incident))
            changes.entries = len(new_entries)
        self._on_commit()
        return changes

    def apply_components(self, components: Iterable[ComponentObserved]) -> None:
        now = self.clock.now()
        with self.db.session() as session:
            for comp in components:
                row = session.get(ComponentState, (comp.service, comp.component_id))
                if row is None:
                    row = ComponentState(
                        service=comp.service,
                        component_id=comp.component_id,
                        name=comp.name,
                        status=comp.status,
                        seen_at=now,
                    )
                row.name, row.status, row.seen_at = comp.name, comp.status, now
                row.position, row.is_group = comp.position, comp.is_group
                row.upstream_updated_at = comp.at or row.upstream_updated_at
                session.add(row)
            session.commit()

    def close_missing(self, service: str, kind: Kind, listed: set[str], note: str) -> Changes:
        """Open upstream incidents the page no longer lists are closed, with a note in their thread."""
        now = self.clock.now()
        changes = Changes()
        with self.db.session() as session:
            query = select(Incident).where(
                Incident.service == service,
                Incident.kind == kind,
                Incident.source == "statuspage",
                Incident.status != Status.RESOLVED,
            )
            for incident in session.exec(query):
                if incident.upstream_id in listed:
                    continue
                entry = add_entry(
                    session,
                    incident,
                    EntryKind.CLOSED_MISSING,
                    now,
                    body=note,
                    source=STATUSBOT,
                    status=Status.RESOLVED,
                    upstream_id="missing",
                )
                resolve_incident(incident, now, STATUSBOT)
                self._publish(session, incident, entry, now)
                self._followups(session, incident, True, now)
                changes.updated.append(incident_id(incident))
                log.info("incident #%s (%s) vanished from the page: closed", incident.id, incident.upstream_id)
            session.commit()
        if changes:
            self._on_commit()
        return changes

    def _correlate(self, session: Session, event: IncidentObserved, now: datetime) -> Incident | None:
        """A new vendor incident for an outage our probes already reported joins that incident."""
        if event.is_maintenance:
            return None
        components = _components(session, event)
        incident = probes.open_probe_incident(session, event.service, components, self.probes)
        if incident is not None:
            first = event.updates[0].at if event.updates else event.started_at
            note = probes.attach_vendor(session, incident, event.upstream_id, first, now)
            enqueue(session, self.sinks, incident_id(incident), OutboxAction.UPDATE, now, note.id)
        return incident

    # -- people --------------------------------------------------------------------------------
    def acknowledge(self, incident_id: int, actor: Actor) -> Incident:
        now = self.clock.now()
        with self.db.session() as session:
            incident = get_open(session, incident_id)
            if incident.acknowledged_at is not None:
                raise ActionError(f"#{incident_id} was already acknowledged by {incident.acknowledged_by}.")
            incident.acknowledged_at, incident.acknowledged_by = now, actor.name
            incident.acknowledged_by_id = actor.id
            entry = add_entry(
                session,
                incident,
                EntryKind.ACK,
                now,
                body=f"Acknowledged by {actor.name}",
                source=actor.platform,
                actor=actor,
            )
            self._publish(session, incident, entry, now)
            session.commit()
        self._on_commit()
        return incident

    def resolve(self, incident_id: int, actor: Actor) -> Incident:
        now = self.clock.now()
        with self.db.session() as session:
            incident = get_open(session, incident_id)
            entry = add_entry(
                session,
                incident,
                EntryKind.RESOLVE,
                now,
                body=f"Resolved by {actor.name}",
                source=actor.platform,
                actor=actor,
                status=Status.RESOLVED,
            )
            resolve_incident(incident, now, actor.name)
            incident.resolved_by_id = actor.id
            self._publish(session, incident, entry, now)
            self._followups(session, incident, True, now)
            session.commit()
        self._on_commit()
        return incident

    # -- outbox --------------------------------------------------------------------------------
    def _announce(self, session: Session, incident: Incident, now: datetime) -> None:
        incident.announced = True
        reminders.schedule_first(session, incident, self.reminder_policy, now)
        enqueue(session, self.sinks, incident_id(incident), OutboxAction.OPEN, now)
        for entry in timeline(session, incident_id(incident)):
            enqueue(session, self.sinks, incident_id(incident), OutboxAction.UPDATE, now, entry.id)

    def _publish(self, session: Session, incident: Incident, entry: TimelineEntry, now: datetime) -> None:
        incident.updated_at = now
        if incident.announced:
            enqueue(session, self.sinks, incident_id(incident), OutboxAction.UPDATE, now, entry.id)
            enqueue(session, self.sinks, incident_id(incident), OutboxAction.REFRESH, now)

    def _followups(self, session: Session, incident: Incident, was_open: bool, now: datetime) -> None:
        """On resolution, the postmortem draft goes to the thread; on reopening, reminders start again."""
        if not incident.announced or incident.kind != Kind.INCIDENT:
            return
        if was_open and not incident.is_open:
            enqueue(session, self.sinks, incident_id(incident), OutboxAction.POSTMORTEM, now)
        elif not was_open and incident.is_open:
            reminders.schedule_first(session, incident, self.reminder_policy, now)

    def _hold_for_probes(self, session: Session, incident: Incident) -> bool:
        """Policy `agree`: the vendor's resolution waits while our probe still fails."""
        if self.auto_resolve != "agree" or incident.probe_name is None:
            return False
        state = session.get(ProbeState, incident.probe_name)
        return bool(state and state.state.get("open"))

    @staticmethod
    def _merge(total: Changes, part: Changes) -> None:
        total.opened += part.opened
        total.updated += part.updated
        total.entries += part.entries


def _find(session: Session, event: IncidentObserved) -> Incident | None:
    query = select(Incident).where(Incident.service == event.service, Incident.upstream_id == event.upstream_id)
    return session.exec(query).first()


def _new_incident(event: IncidentObserved, now: datetime, preexisting: bool) -> Incident:
    first = event.updates[0].at if event.updates else event.started_at
    return Incident(
        service=event.service,
        source=event.source,
        upstream_id=event.upstream_id,
        kind=Kind.MAINTENANCE if event.is_maintenance else Kind.INCIDENT,
        title=event.title,
        status=Status.INVESTIGATING,
        impact=event.impact,  # _apply_state sets it
        started_at=event.started_at,
        detected_at=now,
        vendor_acknowledged_at=first,
        preexisting=preexisting,
        updated_at=now,
    )


def _announceable(incident: Incident, is_new: bool) -> bool:
    """Scheduled maintenance waits until it starts; history already resolved is never announced late."""
    if incident.kind == Kind.MAINTENANCE and incident.status == Status.SCHEDULED:
        return False
    return is_new or incident.is_open


def _record_updates(
    session: Session, incident: Incident, updates: Sequence[UpdateObserved], now: datetime
) -> list[TimelineEntry]:
    known = set(
        session.exec(
            select(TimelineEntry.upstream_id).where(
                TimelineEntry.incident_id == incident_id(incident), TimelineEntry.kind == EntryKind.VENDOR_UPDATE
            )
        )
    )
    resolved = not incident.is_open
    human_resolved = resolved and incident.resolved_by not in (None, "vendor")
    added = []
    for update in sorted(updates, key=lambda u: u.at):
        if update.upstream_id in known:
            continue
        status = vendor_status(update.status)
        resolves = status == Status.RESOLVED and not resolved
        resolved = status == Status.RESOLVED or human_resolved
        changes = [
            {"id": c.component_id, "name": c.name, "old": c.old_status or "", "new": c.new_status}
            for c in update.changes
        ]
        added.append(
            add_entry(
                session,
                incident,
                EntryKind.VENDOR_UPDATE,
                update.at,
                body=update.body,
                source="statuspage",
                status=update.status,
                upstream_id=update.upstream_id,
                components=changes,
                recorded_at=now,
                resolves=resolves,
            )
        )
    return added


def _apply_state(
    session: Session, incident: Incident, event: IncidentObserved, now: datetime, hold: bool = False
) -> None:
    incident.title = event.title
    incident.impact = event.impact
    incident.vendor_started_at = event.started_at
    incident.shortlink = event.shortlink or incident.shortlink
    incident.components = _components(session, event)
    status = vendor_status(event.status)
    if status == Status.RESOLVED:
        at = event.resolved_at or _last_update_at(event) or now
        incident.vendor_resolved_at = incident.vendor_resolved_at or at
        if incident.resolved_at is None and hold:
            incident.status = Status.MONITORING
        elif incident.resolved_at is None:
            resolve_incident(incident, at, "vendor")
    else:
        incident.vendor_resolved_at = None
        if incident.resolved_by in (None, "vendor"):
            incident.status, incident.resolved_at, incident.resolved_by = status, None, None


def _last_update_at(event: IncidentObserved) -> datetime | None:
    return max((u.at for u in event.updates), default=None)


def _components(session: Session, event: IncidentObserved) -> list[dict[str, str]]:
    """Affected components by id; the name is the page's current one (names change over time)."""
    pairs = dict(event.components)
    if not pairs:
        for update in event.updates:
            pairs.update({c.component_id: c.name for c in update.changes})
    named = []
    for comp_id, name in pairs.items():
        state = session.get(ComponentState, (event.service, comp_id))
        named.append((state.position if state else 1 << 30, comp_id, state.name if state else name))
    return [{"id": comp_id, "name": name} for _, comp_id, name in sorted(named)]


def _card_fields(incident: Incident) -> tuple[object, ...]:
    return (
        incident.title,
        incident.status,
        incident.impact,
        tuple(c["id"] for c in incident.components),
        incident.acknowledged_by,
        incident.resolved_at,
    )
