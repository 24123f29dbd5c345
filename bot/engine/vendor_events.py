"""The engine's vendor side: a status page's incidents, maintenance windows and components.

Every change to an incident, its timeline entries and its outbox rows are written in one
transaction. Everything is keyed by upstream ids, so seeing the same update twice (poll and webhook,
a restart, a replay) changes nothing. Entries carry the event's own `source`: the engine names none.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from sqlmodel import Session, func, select

from bot.engine import correlate, model_names, probes, seen_by
from bot.engine.core import Changes, EngineCore
from bot.engine.events import ComponentObserved, IncidentObserved, PageSnapshot
from bot.engine.in_use import ModelsInUse
from bot.engine.probes import ProbeMap
from bot.engine.quiet import quiet
from bot.engine.resolution import AutoResolve
from bot.engine.timeline import STATUSBOT, VENDOR, add_entry, incident_id, resolve_incident
from bot.store.enums import EntryKind, Kind, OutboxAction, Status
from bot.store.models import ComponentState, Incident, TimelineEntry

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


def vendor_status(raw: str) -> Status:
    return VENDOR_STATUS.get(raw, Status.INVESTIGATING)


MISSING_NOTE = {Kind.INCIDENT: "No longer on the status page; closed.", Kind.MAINTENANCE: "Maintenance window ended."}
RELISTED_NOTE = "Listed open again on the status page; reopened."
ABSENCES_TO_CLOSE = 2  # consecutive complete polls that must agree an incident is gone


class VendorEvents:
    def __init__(
        self, core: EngineCore, probe_map: ProbeMap, auto_resolve: AutoResolve, in_use: ModelsInUse | None = None
    ) -> None:
        self.core = core
        self.probes = probe_map
        self.auto_resolve = auto_resolve
        self.in_use = in_use or ModelsInUse()
        # Open incidents missing from the last complete poll(s), by (service, source, kind, upstream
        # id). Kept in memory: after a restart the count starts again, which only ever closes later.
        self._absent: dict[tuple[str, str, str, str], int] = {}

    def apply_snapshot(self, snap: PageSnapshot, *, baseline: bool = False) -> Changes:
        """A full poll: components, every listed incident, and incidents that vanished from the page.

        `baseline` is the first import of a page: history already resolved is recorded silently.
        """
        self.apply_components(snap.components)
        changes = Changes()
        incidents, maintenances = snap.incidents, snap.maintenances
        events = sorted((*(incidents or ()), *(maintenances or ())), key=lambda e: (e.started_at, e.upstream_id))
        with self.core.db.session() as session:  # read once a poll, not once per listed incident
            index = component_index(session, snap.service)
        for event in events:  # oldest first, so threads open in the order the incidents began
            changes.merge(self.apply_incident(event, baseline=baseline, components=index))
        changes.merge(self.close_absent(snap))
        return changes

    def close_absent(self, snap: PageSnapshot) -> Changes:
        """Open incidents the page no longer lists are closed, with a note in their thread — only when
        the snapshot was read completely (an unreadable record is unknown, not gone), and only once
        `ABSENCES_TO_CLOSE` consecutive complete polls agree. A poll answered 304 Not Modified passes
        the same snapshot again: the page confirmed it still lists what it listed."""
        changes = Changes()
        if not snap.complete:
            return changes
        incidents, maintenances = snap.incidents, snap.maintenances
        if incidents is not None:  # None: not fetched this time
            listed = {e.upstream_id for e in incidents}
            changes.merge(self.close_missing(snap.service, Kind.INCIDENT, listed, source=snap.source))
        if maintenances is not None:
            listed = {e.upstream_id for e in (*maintenances, *(incidents or ()))}
            changes.merge(self.close_missing(snap.service, Kind.MAINTENANCE, listed, source=snap.source))
        return changes

    def apply_incident(
        self,
        event: IncidentObserved,
        *,
        baseline: bool = False,
        history: bool = False,
        components: ComponentIndex | None = None,
    ) -> Changes:
        """`baseline`: resolved incidents are recorded silently; `history` (backfill): everything is.
        `components`: the service's components as this poll stored them (read here when not given)."""
        core, now = self.core, self.core.clock.now()
        silent = history or (baseline and event.is_resolved)
        changes = Changes()
        with core.db.session() as session:
            index = components if components is not None else component_index(session, event.service)
            named = _components(index, event)
            incident = _find(session, event) or self._correlate(session, event, named, now)
            is_new = incident is None
            if incident is None:
                incident = _new_incident(event, now, preexisting=baseline and not silent, history=silent)
                session.add(incident)
                session.flush()
            if is_new:
                incident.informational = self.probes.informational(named)
            was_open = is_new or incident.is_open
            was_quiet = not is_new and quiet(incident)
            before = _card_fields(incident)
            # An older view (a webhook delivered late, after a newer one): its updates are recorded,
            # but its status, title and components are not, or it would undo what we already know.
            stale = not is_new and _stale(session, incident, event)
            new_entries = [] if stale else _reopen_if_relisted(session, incident, event, now)
            new_entries += _record_updates(session, incident, event, now)
            if not stale:
                self._read_models(session, incident, event)
                _apply_state(incident, event, named, now, hold=self._hold_for_probes(session, incident))
            if incident.is_open:
                for entry in new_entries:
                    entry.resolves = False  # the vendor said resolved, but the policy waits for the probes
            announce_now = not silent and not incident.announced and _announceable(incident, is_new)
            if announce_now:
                core.announce(session, incident, now)
            elif incident.announced:
                for entry in new_entries:
                    core.enqueue(session, incident, OutboxAction.UPDATE, now, entry.id)
                if _card_fields(incident) != before:
                    core.enqueue(session, incident, OutboxAction.REFRESH, now)
            if not (is_new or new_entries or _card_fields(incident) != before):
                session.rollback()
                return changes
            core.followups(session, incident, was_open, now)
            if was_quiet and incident.announced:
                core.louder(session, incident, now)
            incident.updated_at = now
            session.commit()
            if is_new and silent:
                changes.history += 1
            else:
                (changes.opened if announce_now else changes.updated).append(incident_id(incident))
                changes.entries = len(new_entries)
        core.committed()
        return changes

    def apply_components(self, components: Iterable[ComponentObserved]) -> None:
        now = self.core.clock.now()
        with self.core.db.session() as session:
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

    def close_missing(
        self, service: str, kind: Kind, listed: set[str], note: str | None = None, *, source: str
    ) -> Changes:
        """One complete poll that lists `listed`: open incidents from `source` it leaves out count one
        absence; the `ABSENCES_TO_CLOSE`-th in a row closes them, with a note in their thread."""
        core, now = self.core, self.core.clock.now()
        changes = Changes()
        with core.db.session() as session:
            query = select(Incident).where(
                Incident.service == service,
                Incident.kind == kind,
                Incident.source == source,
                Incident.status != Status.RESOLVED,
            )
            missing = [i for i in session.exec(query) if i.upstream_id not in listed]
            absent = {(service, source, kind, str(i.upstream_id)) for i in missing}
            for key in [k for k in self._absent if k[:3] == (service, source, kind) and k not in absent]:
                del self._absent[key]  # listed again, or no longer open
            for incident in missing:
                key = (service, source, kind, str(incident.upstream_id))
                self._absent[key] = self._absent.get(key, 0) + 1
                if self._absent[key] < ABSENCES_TO_CLOSE:
                    log.info("incident #%s (%s) is missing from the page; closing if it stays so", incident.id, key[3])
                    continue
                del self._absent[key]
                self._close(session, incident, note or MISSING_NOTE[kind], now)
                changes.updated.append(incident_id(incident))
                log.info("incident #%s (%s) vanished from the page: closed", incident.id, incident.upstream_id)
            session.commit()
        if changes:
            core.committed()
        return changes

    def _close(self, session: Session, incident: Incident, note: str, now: datetime) -> None:
        earlier = session.exec(
            select(TimelineEntry.id).where(
                TimelineEntry.incident_id == incident_id(incident), TimelineEntry.kind == EntryKind.CLOSED_MISSING
            )
        ).all()
        entry = add_entry(
            session,
            incident,
            EntryKind.CLOSED_MISSING,
            now,
            body=note,
            source=STATUSBOT,
            status=Status.RESOLVED,
            upstream_id="missing" if not earlier else f"missing:{len(earlier) + 1}",
        )
        resolve_incident(incident, now, STATUSBOT)
        self.core.publish(session, incident, entry, now)
        self.core.followups(session, incident, True, now)

    def _correlate(
        self, session: Session, event: IncidentObserved, components: list[dict[str, str]], now: datetime
    ) -> Incident | None:
        """A new vendor incident for an outage our streams already reported joins that incident (see
        bot/engine/correlate.py); one already resolved when first seen, or naming only models nobody
        here uses, joins none."""
        if event.is_maintenance or event.is_resolved:
            return None
        models = _models(event)
        if not self.in_use.affected(session, event.service, models):
            return None
        incident = correlate.vendor_target(session, event.service, components, models, self.probes)
        if incident is not None:
            first = event.updates[0].at if event.updates else event.started_at
            note = probes.attach_vendor(session, incident, event.source, event.upstream_id, first, now)
            self.core.enqueue(session, incident, OutboxAction.UPDATE, now, note.id)
        return incident

    def _read_models(self, session: Session, incident: Incident, event: IncidentObserved) -> None:
        """The models the vendor names, and whether any of them is in use here."""
        incident.models = _models(event)
        incident.unaffected = not self.in_use.affected(session, event.service, incident.models)

    def _hold_for_probes(self, session: Session, incident: Incident) -> bool:
        """Policy `agree`: the vendor's resolution waits while any stream that saw it still fails."""
        return self.auto_resolve == AutoResolve.AGREE and bool(seen_by.failing(session, incident))


def _models(event: IncidentObserved) -> list[str]:
    return model_names.named(event.title, [u.body for u in event.updates])


def _find(session: Session, event: IncidentObserved) -> Incident | None:
    query = select(Incident).where(Incident.service == event.service, Incident.upstream_id == event.upstream_id)
    return session.exec(query).first()


def _new_incident(event: IncidentObserved, now: datetime, preexisting: bool, history: bool) -> Incident:
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
        detected_at=None if history else now,  # history was never seen live: no detection time
        vendor_acknowledged_at=first,
        preexisting=preexisting,
        updated_at=now,
    )


def _reopen_if_relisted(
    session: Session, incident: Incident, event: IncidentObserved, now: datetime
) -> list[TimelineEntry]:
    """An incident statusbot closed because it vanished, listed open again: reopened, with a note."""
    status = vendor_status(event.status)
    if incident.resolved_by != STATUSBOT or status == Status.RESOLVED:
        return []
    earlier = session.exec(
        select(TimelineEntry.id).where(
            TimelineEntry.incident_id == incident_id(incident),
            TimelineEntry.kind == EntryKind.REOPEN,
            TimelineEntry.source == STATUSBOT,
        )
    ).all()
    entry = add_entry(
        session,
        incident,
        EntryKind.REOPEN,
        now,
        body=RELISTED_NOTE,
        source=STATUSBOT,
        status=status,
        upstream_id=f"relisted:{len(earlier) + 1}",
    )
    incident.status, incident.resolved_at, incident.resolved_by = status, None, None
    log.info("incident #%s (%s) is listed open again: reopened", incident.id, incident.upstream_id)
    return [entry]


def _announceable(incident: Incident, is_new: bool) -> bool:
    """Scheduled maintenance waits until it starts; history already resolved is never announced late."""
    if incident.kind == Kind.MAINTENANCE and incident.status == Status.SCHEDULED:
        return False
    return is_new or incident.is_open


def _record_updates(
    session: Session, incident: Incident, event: IncidentObserved, now: datetime
) -> list[TimelineEntry]:
    recorded = session.exec(
        select(TimelineEntry).where(
            TimelineEntry.incident_id == incident_id(incident), TimelineEntry.kind == EntryKind.VENDOR_UPDATE
        )
    ).all()
    known = {e.upstream_id for e in recorded} | {_fingerprint(e.at, e.body) for e in recorded}
    resolved = not incident.is_open
    human_resolved = resolved and incident.resolved_by not in (None, VENDOR)
    added = []
    for update in sorted(event.updates, key=lambda u: u.at):
        if update.upstream_id in known or _fingerprint(update.at, update.body) in known:
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
                source=event.source,
                status=update.status,
                upstream_id=update.upstream_id,
                components=changes,
                recorded_at=now,
                resolves=resolves,
            )
        )
    return added


def _fingerprint(at: datetime, body: str) -> str:
    """One vendor update as two readers of the page see it (the JSON API and the Atom feed give it
    different ids): its minute and its words."""
    return f"{at:%Y%m%d%H%M} {' '.join(re.findall(r'[0-9a-z]+', body.lower()))}"


def _apply_state(
    incident: Incident, event: IncidentObserved, components: list[dict[str, str]], now: datetime, hold: bool = False
) -> None:
    incident.title = event.title
    if not event.partial:  # a feed knows no impact and no components: what is known stays
        incident.impact = event.impact
        incident.components = components
    if not event.partial or incident.vendor_started_at is None:
        incident.vendor_started_at = event.started_at
    incident.shortlink = event.shortlink or incident.shortlink
    status = vendor_status(event.status)
    if status == Status.RESOLVED:
        at = event.resolved_at or _last_update_at(event) or now
        incident.vendor_resolved_at = incident.vendor_resolved_at or at
        if incident.resolved_at is None and hold:
            incident.status = Status.MONITORING
        elif incident.resolved_at is None:
            resolve_incident(incident, at, VENDOR)
    else:
        incident.vendor_resolved_at = None
        if incident.resolved_by in (None, VENDOR):
            incident.status, incident.resolved_at, incident.resolved_by = status, None, None


def _stale(session: Session, incident: Incident, event: IncidentObserved) -> bool:
    """The event's newest update is older than the newest one already recorded for the incident, or
    the event has no updates at all where some are recorded (Statuspage never sends an incident
    without its updates: such a view, garbled or cut short, cannot show it is the newer one)."""
    newest = _last_update_at(event)
    recorded = session.exec(
        select(func.max(TimelineEntry.at)).where(
            TimelineEntry.incident_id == incident_id(incident), TimelineEntry.kind == EntryKind.VENDOR_UPDATE
        )
    ).one()
    if newest is None or recorded is None:
        return recorded is not None
    return newest < (recorded if recorded.tzinfo else recorded.replace(tzinfo=UTC))


def _last_update_at(event: IncidentObserved) -> datetime | None:
    return max((u.at for u in event.updates), default=None)


ComponentIndex = Mapping[str, tuple[int, str]]  # a service's components: id → (position, current name)


def component_index(session: Session, service: str) -> dict[str, tuple[int, str]]:
    rows = session.exec(select(ComponentState).where(ComponentState.service == service))
    return {row.component_id: (row.position, row.name) for row in rows}


def _components(index: ComponentIndex, event: IncidentObserved) -> list[dict[str, str]]:
    """Affected components by id, in the page's order; the name is the page's current one (names change
    over time)."""
    pairs = dict(event.components)
    if not pairs:
        for update in event.updates:
            pairs.update({c.component_id: c.name for c in update.changes})
    named = []
    for comp_id, name in pairs.items():
        position, current = index.get(comp_id, (1 << 30, name))
        named.append((position, comp_id, current))
    return [{"id": comp_id, "name": name} for _, comp_id, name in sorted(named)]


def _card_fields(incident: Incident) -> tuple[object, ...]:
    return (
        incident.title,
        incident.status,
        incident.impact,
        tuple(c["id"] for c in incident.components),
        tuple(incident.models),
        incident.unaffected,
        incident.acknowledged_by,
        incident.resolved_at,
    )
