"""Normalised events: what every source (poll, webhook, demo, backfill) hands the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


class ActionError(Exception):
    """A person asked for something the incident's state does not allow; the text says why."""


@dataclass(frozen=True)
class ComponentChange:
    component_id: str
    name: str
    old_status: str | None
    new_status: str


@dataclass(frozen=True)
class UpdateObserved:
    upstream_id: str
    status: str
    body: str
    at: datetime
    changes: tuple[ComponentChange, ...] = ()


@dataclass(frozen=True)
class IncidentObserved:
    """The whole current view of one upstream incident (or maintenance)."""

    service: str
    source: str
    upstream_id: str
    title: str
    status: str
    impact: str
    started_at: datetime
    resolved_at: datetime | None = None
    shortlink: str | None = None
    is_maintenance: bool = False
    components: tuple[tuple[str, str], ...] = ()  # (id, name)
    updates: tuple[UpdateObserved, ...] = ()  # oldest first
    partial: bool = False  # its source knows titles and updates only (a feed): impact, components kept

    @property
    def is_resolved(self) -> bool:
        return self.status in ("resolved", "postmortem", "completed")


@dataclass(frozen=True)
class ComponentObserved:
    service: str
    component_id: str
    name: str
    status: str
    at: datetime | None = None
    position: int = 0
    is_group: bool = False


@dataclass(frozen=True)
class PageSnapshot:
    """One successful poll of a page: its components and its full incident list."""

    service: str
    source: str  # the source that read the page: only its own incidents can vanish from it
    components: tuple[ComponentObserved, ...] = ()
    incidents: tuple[IncidentObserved, ...] | None = None  # None: not fetched (304 Not Modified)
    maintenances: tuple[IncidentObserved, ...] | None = None
    # False when a listed incident or maintenance could not be read: then absence proves nothing,
    # and nothing is closed for missing from this snapshot.
    complete: bool = True
    rejected: tuple[str, ...] = ()  # one line per record left out (components too), for the log


@dataclass(frozen=True)
class Actor:
    """A person acting on an incident: their display name and, where the platform has one, their id."""

    name: str
    id: str | None = None
    platform: str = "cli"
