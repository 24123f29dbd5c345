"""Which incidents are tracked and shown but never remind or escalate."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store.records import AnyIncident


def quiet(incident: AnyIncident) -> bool:
    """Tracked and shown, but no reminders and no escalation: a vendor incident of impact `none`, one
    on components our probes do not map, or one that names only models nobody here uses — unless one
    of our own streams saw it."""
    if incident.probe_name is not None:
        return False
    return incident.informational or incident.unaffected or incident.impact == "none"
