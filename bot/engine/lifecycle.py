"""The engine's lifecycle side: reminders of unacknowledged incidents, snoozes, postmortem requests."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.engine import reminders
from bot.engine.events import Actor
from bot.engine.timeline import ActionError, add_entry, get_open, incident_id, last_entry
from bot.store.models import EntryKind, Incident, OutboxAction
from bot.store.outbox import enqueue

if TYPE_CHECKING:
    from bot.engine.incidents import IncidentEngine


class Lifecycle:
    def send_reminders(self: IncidentEngine) -> int:
        """One tick: send every due reminder (or move it past quiet hours and snoozes)."""
        if self.reminder_policy is None:
            return 0
        now, sent = self.clock.now(), 0
        with self.db.session() as session:
            for reminder in reminders.due(session, now):
                incident = reminders.step(session, reminder, self.reminder_policy, now)
                if incident is not None:
                    enqueue(
                        session,
                        self.sinks,
                        incident_id(incident),
                        OutboxAction.UPDATE,
                        now,
                        last_entry(session, incident).id,
                    )
                    sent += 1
            session.commit()
        if sent:
            self._on_commit()
        return sent

    def snooze(self: IncidentEngine, incident_id_: int, minutes: float, actor: Actor) -> Incident:
        now = self.clock.now()
        with self.db.session() as session:
            incident = get_open(session, incident_id_)
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
            self._publish(session, incident, entry, now)
            session.commit()
        self._on_commit()
        return incident

    def request_postmortem(self: IncidentEngine, incident_id_: int) -> Incident:
        """Post the draft to the incident's thread now (it is also posted on resolution)."""
        now = self.clock.now()
        with self.db.session() as session:
            incident = session.get(Incident, incident_id_)
            if incident is None:
                raise ActionError(f"There is no incident #{incident_id_}.")
            if not incident.announced:
                raise ActionError(f"#{incident_id_} was recorded as history and has no thread.")
            enqueue(session, self.sinks, incident_id(incident), OutboxAction.POSTMORTEM, now)
            session.commit()
        self._on_commit()
        return incident
