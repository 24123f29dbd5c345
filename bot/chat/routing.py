"""Which of one platform's channels an incident goes to: a service's route for its components or
impact, else the service's own channel, else the platform's default channel. The platform is known
here only by its channel key (the field its settings.py's CHANNELS declares)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.config import ServiceSpec, Settings
from bot.engine.views import IncidentCard


class Router:
    def __init__(self, settings: Settings, key: str, default: str) -> None:
        self.services = {s.name: s for s in settings.effective_services()}
        self.key, self.default = key, default

    def channel(self, incident: IncidentCard) -> str:
        service = self.services.get(incident.service)
        if service is not None:
            for route in service.routes:
                chosen = route.channel(self.key)
                if chosen and _matches(route.components, route.impact, incident):
                    return chosen
            own = service.channel(self.key)
            if own:
                return own
        return self.default

    def service(self, name: str) -> ServiceSpec | None:
        return self.services.get(name)


def _matches(components: Sequence[str], impacts: Sequence[str], incident: IncidentCard) -> bool:
    wanted = {c.lower() for c in components}
    if wanted and not wanted & {c.lower() for c in incident.components}:
        return False
    return not impacts or incident.impact in impacts
