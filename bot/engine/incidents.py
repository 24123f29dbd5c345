"""The incident engine: normalised events in, incident changes out.

`IncidentEngine` is the one object sources, commands and the CLI hold. It builds a small core
(store, clock, outbox publishing) and three collaborators that use it — vendor events, stream events,
lifecycle — and exposes each collaborator's methods under the engine's name. Dependencies point one
way: facade → collaborators → core.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bot.clock import Clock
from bot.engine.core import Changes, EngineCore
from bot.engine.events import ActionError
from bot.engine.in_use import ModelsInUse
from bot.engine.lifecycle import Lifecycle
from bot.engine.probes import ProbeMap
from bot.engine.reminders import ReminderPolicy
from bot.engine.resolution import AutoResolve
from bot.engine.stream_events import StreamEvents
from bot.engine.vendor_events import VendorEvents, vendor_status
from bot.store.db import Database

__all__ = ["ActionError", "Changes", "IncidentEngine", "vendor_status"]


class IncidentEngine:
    def __init__(
        self,
        db: Database,
        sinks: Sequence[str],
        clock: Clock,
        on_commit: Callable[[], None] | None = None,
        probes: ProbeMap | None = None,
        reminder_policy: ReminderPolicy | None = None,
        auto_resolve: AutoResolve = AutoResolve.VENDOR,
        models_in_use: ModelsInUse | None = None,
    ) -> None:
        self.core = EngineCore(db, list(sinks), clock, on_commit or (lambda: None), reminder_policy)
        self.db, self.clock, self.probes = db, clock, probes or ProbeMap()
        self.vendor = VendorEvents(self.core, self.probes, auto_resolve, models_in_use)
        self.stream_events = StreamEvents(self.core, self.probes, auto_resolve)
        self.lifecycle = Lifecycle(self.core)
        # vendor events: a status page's polls and webhooks
        self.apply_snapshot = self.vendor.apply_snapshot
        self.apply_incident = self.vendor.apply_incident
        self.apply_components = self.vendor.apply_components
        self.close_missing = self.vendor.close_missing
        self.close_absent = self.vendor.close_absent
        # stream events: our probes, the team's traffic, alerts
        self.stream_failing = self.stream_events.stream_failing
        self.stream_recovered = self.stream_events.stream_recovered
        self.stream_flapping = self.stream_events.stream_flapping
        self.maintenance_active = self.stream_events.maintenance_active
        # lifecycle: people acting on incidents, and reminders
        self.acknowledge = self.lifecycle.acknowledge
        self.resolve = self.lifecycle.resolve
        self.snooze = self.lifecycle.snooze
        self.request_postmortem = self.lifecycle.request_postmortem
        self.send_reminders = self.lifecycle.send_reminders
