"""What every part of the engine shares: the store, the clock, and publishing to the outbox.

The collaborators (vendor events, stream events, lifecycle) each hold one `EngineCore` and call it;
the core knows none of them. Publishing only writes outbox rows inside the caller's transaction;
`committed()` wakes delivery once that transaction is in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.clock import Clock
from bot.engine import reminders
from bot.engine.quiet import quiet
from bot.engine.reminders import ReminderPolicy
from bot.engine.timeline import incident_id
from bot.store.db import Database
from bot.store.enums import Kind, OutboxAction
from bot.store.models import Incident, TimelineEntry
from bot.store.outbox import enqueue
from bot.store.queries import timeline


@dataclass
class Changes:
    """What one source event changed: incidents announced, incidents updated, vendor updates added."""

    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    entries: int = 0
    history: int = 0  # incidents recorded silently as history (first start, long downtime, backfill)

    def __bool__(self) -> bool:
        return bool(self.opened or self.updated or self.history)

    def merge(self, part: Changes) -> None:
        self.opened += part.opened
        self.updated += part.updated
        self.entries += part.entries
        self.history += part.history


@dataclass
class EngineCore:
    db: Database
    sinks: list[str]
    clock: Clock
    on_commit: Callable[[], None] = field(default=lambda: None)  # wakes delivery
    reminder_policy: ReminderPolicy | None = None

    def committed(self) -> None:
        """A transaction that wrote outbox rows is in: wake delivery."""
        self.on_commit()

    def enqueue(
        self, session: Session, incident: Incident, action: OutboxAction, now: datetime, entry_id: int | None = None
    ) -> None:
        enqueue(session, self.sinks, incident_id(incident), action, now, entry_id)

    def announce(self, session: Session, incident: Incident, now: datetime) -> None:
        """The incident's thread opens, with every timeline entry it has so far."""
        incident.announced = True
        incident.detected_at = incident.detected_at or now  # history the vendor reopened: we see it now
        reminders.schedule_first(session, incident, self.reminder_policy, now)
        self.enqueue(session, incident, OutboxAction.OPEN, now)
        for entry in timeline(session, incident_id(incident)):
            self.enqueue(session, incident, OutboxAction.UPDATE, now, entry.id)

    def publish(self, session: Session, incident: Incident, entry: TimelineEntry, now: datetime) -> None:
        """A new timeline entry goes to the thread and the card is refreshed (once announced)."""
        incident.updated_at = now
        if incident.announced:
            self.enqueue(session, incident, OutboxAction.UPDATE, now, entry.id)
            self.enqueue(session, incident, OutboxAction.REFRESH, now)

    def louder(self, session: Session, incident: Incident, now: datetime) -> None:
        """An incident that was quiet (impact `none`, no model in use) is not any more: reminders start."""
        if not quiet(incident):
            reminders.schedule_first(session, incident, self.reminder_policy, now)

    def followups(self, session: Session, incident: Incident, was_open: bool, now: datetime) -> None:
        """On resolution, the postmortem draft goes to the thread; on reopening, reminders start again."""
        if not incident.announced or incident.kind != Kind.INCIDENT:
            return
        if was_open and not incident.is_open:
            self.enqueue(session, incident, OutboxAction.POSTMORTEM, now)
        elif not was_open and incident.is_open:
            reminders.schedule_first(session, incident, self.reminder_policy, now)
