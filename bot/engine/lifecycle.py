"""The engine's people side: acknowledge, resolve, snooze, ask for the postmortem; and the reminders
of incidents nobody has acknowledged."""

from __future__ import annotations

from datetime import timedelta

from bot.engine import reminders
from bot.engine.core import EngineCore
from bot.engine.events import ActionError, Actor
from bot.engine.timeline import add_entry, get_open, last_entry, resolve_incident
from bot.store.enums import EntryKind, OutboxAction, Status
from bot.store.models import Incident


class Lifecycle:
    def __init__(self, core: EngineCore) -> None:
        self.core = core

    def acknowledge(self, incident_id: int, actor: Actor) -> Incident:
        core, now = self.core, self.core.clock.now()
        with core.db.session() as session:
            incident = get_open(session, incident_id)
            if incident.acknowledged_at is not None:
                raise ActionError(f"#{incident_id} was already acknowledged by {incident.acknowledged_by}.")
            incident.acknowledged_at, incident.acknowledged_by = now, actor.name
            incident.acknowledged_by_id = actor.id
            body = f"Acknowledged by {actor.name}"
            entry = add_entry(session, incident, EntryKind.ACK, now, body=body, source=actor.platform, actor=actor)
            core.publish(session, incident, entry, now)
            session.commit()
        core.committed()
        return incident

    def resolve(self, incident_id: int, actor: Actor) -> Incident:
        core, now = self.core, self.core.clock.now()
        with core.db.session() as session:
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
            core.publish(session, incident, entry, now)
            core.followups(session, incident, True, now)
            session.commit()
        core.committed()
        return incident

    def snooze(self, incident_id: int, minutes: float, actor: Actor) -> Incident:
        core, now = self.core, self.core.clock.now()
        with core.db.session() as session:
            incident = get_open(session, incident_id)
            incident.snoozed_until = now + timedelta(minutes=minutes)
            entry = add_entry(
                session,
                incident,
                EntryKind.SNOOZE,
                now,
                source=actor.platform,
                actor=actor,
                body=f"Reminders snoozed for {minutes:g} minutes by {actor.name}",
            )
            core.publish(session, incident, entry, now)
            session.commit()
        core.committed()
        return incident

    def request_postmortem(self, incident_id: int) -> Incident:
        """Post the draft to the incident's thread now (it is also posted on resolution)."""
        core, now = self.core, self.core.clock.now()
        with core.db.session() as session:
            incident = session.get(Incident, incident_id)
            if incident is None:
                raise ActionError(f"There is no incident #{incident_id}.")
            if not incident.announced:
                raise ActionError(f"#{incident_id} was recorded as history and has no thread.")
            core.enqueue(session, incident, OutboxAction.POSTMORTEM, now)
            session.commit()
        core.committed()
        return incident

    def send_reminders(self) -> int:
        """One tick: send every due reminder (or move it past quiet hours and snoozes)."""
        core, policy = self.core, self.core.reminder_policy
        if policy is None:
            return 0
        now, sent = core.clock.now(), 0
        with core.db.session() as session:
            for reminder in reminders.due(session, now):
                incident = reminders.step(session, reminder, policy, now)
                if incident is not None:
                    core.enqueue(session, incident, OutboxAction.UPDATE, now, last_entry(session, incident).id)
                    sent += 1
            session.commit()
        if sent:
            core.committed()
        return sent
