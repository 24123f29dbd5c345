"""Reminders and escalation for incidents nobody has acknowledged.

One row per incident holds the next reminder. One scheduler tick sends what is due: the reminder's
timeline entry, its outbox rows, and the next row are written in one transaction, so a restart after
a long downtime sends one reminder (not the missed backlog) and never the same one twice. Quiet hours
and snoozes move a reminder later instead of dropping it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.engine.quiet import quiet
from bot.engine.timeline import STATUSBOT, add_entry, incident_id
from bot.engine.views import human_duration
from bot.store.enums import EntryKind, Kind
from bot.store.models import Incident, Reminder


@dataclass(frozen=True)
class ReminderPolicy:
    every: timedelta = timedelta(minutes=15)
    escalate_after: timedelta | None = timedelta(minutes=30)
    quiet: tuple[time, time] | None = None
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))

    @classmethod
    def parse(cls, every_min: float, escalate_min: float, quiet: str, zone: str) -> ReminderPolicy | None:
        if every_min <= 0:
            return None
        span = None
        if quiet:
            start, end = (time.fromisoformat(part) for part in quiet.split("-"))
            span = (start, end)
        return cls(
            timedelta(minutes=every_min),
            timedelta(minutes=escalate_min) if escalate_min > 0 else None,
            span,
            ZoneInfo(zone),
        )

    def quiet_until(self, now: datetime) -> datetime | None:
        """The end of the quiet span `now` falls in, or None."""
        if self.quiet is None:
            return None
        local = now.astimezone(self.zone)
        start, end = self.quiet
        t = local.timetz().replace(tzinfo=None)
        inside = start <= t < end if start < end else (t >= start or t < end)
        if not inside:
            return None
        finish = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
        if finish <= local:
            finish += timedelta(days=1)
        return finish.astimezone(now.tzinfo)


def schedule_first(session: Session, incident: Incident, policy: ReminderPolicy | None, now: datetime) -> None:
    if policy is None or incident.kind != Kind.INCIDENT or quiet(incident):
        return
    if incident.acknowledged_at is None and incident.is_open:
        session.merge(Reminder(incident_id=incident_id(incident), due_at=now + policy.every))


def due(session: Session, now: datetime) -> list[Reminder]:
    return list(session.exec(select(Reminder).where(Reminder.due_at <= now).order_by(col(Reminder.due_at))))


def step(session: Session, reminder: Reminder, policy: ReminderPolicy, now: datetime) -> Incident | None:
    """Send (returns the incident, with its new entry flushed), postpone, or drop one due reminder."""
    incident = session.get(Incident, reminder.incident_id)
    if incident is None or not incident.is_open or incident.acknowledged_at is not None or quiet(incident):
        session.delete(reminder)
        return None
    later = max(
        filter(
            None,
            (
                policy.quiet_until(now),
                incident.snoozed_until if incident.snoozed_until and incident.snoozed_until > now else None,
            ),
        ),
        default=None,
    )
    if later is not None:
        reminder.due_at = later
        session.add(reminder)
        return None
    unacknowledged = now - (incident.detected_at or incident.started_at)
    waited = human_duration(unacknowledged)
    escalate = policy.escalate_after is not None and not reminder.escalated and unacknowledged >= policy.escalate_after
    kind = EntryKind.ESCALATION if escalate else EntryKind.REMINDER
    body = (
        f"Nobody has acknowledged this after {waited}: escalating."
        if escalate
        else f"Still not acknowledged after {waited}."
    )
    add_entry(session, incident, kind, now, body=body, source=STATUSBOT, upstream_id=f"{kind}:{reminder.sent + 1}")
    reminder.sent, reminder.escalated = reminder.sent + 1, reminder.escalated or escalate
    reminder.due_at = now + policy.every  # from now: a long downtime yields one reminder, not a burst
    session.add(reminder)
    return incident
