"""The values the tables' text columns hold (an incident's status and kind, an entry's kind, ...), apart
from the tables so that what only reads them (the CLI's look-only commands, the cards) needs no ORM."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"
    # scheduled maintenance runs through its own states; `completed` maps to RESOLVED
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    VERIFYING = "verifying"


class Kind(StrEnum):
    INCIDENT = "incident"
    MAINTENANCE = "maintenance"


class EntryKind(StrEnum):
    VENDOR_UPDATE = "vendor_update"
    ACK = "ack"
    RESOLVE = "resolve"
    CLOSED_MISSING = "closed_missing"
    NOTE = "note"
    PROBE = "probe"
    REOPEN = "reopen"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    SNOOZE = "snooze"


class StreamState(StrEnum):
    FAILING = "failing"
    RECOVERED = "recovered"


class OutboxAction(StrEnum):
    OPEN = "open"
    UPDATE = "update"
    REFRESH = "refresh"
    POSTMORTEM = "postmortem"


class ProbeOutcome(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # answered, but slower than the threshold
    FAILURE = "failure"  # 5xx, 529, timeout, connection failure
    THROTTLED = "throttled"  # 429: shown, never an outage
    CONFIG = "config"  # 400/401/403/404: our configuration is wrong
    LOCAL = "local"  # failed while our own connectivity check failed too: not the vendor
