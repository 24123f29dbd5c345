"""Which channel an incident goes to: a service's route for its components or impact, else the
service's channel, else the platform's default channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from bot.config import ServiceSpec, Settings
from bot.engine.views import IncidentCard

Platform = Literal["slack", "discord"]


class Router:
    def __init__(self, settings: Settings) -> None:
        self.services = {s.name: s for s in settings.effective_services()}
        self.defaults = {"slack": settings.slack_channel, "discord": settings.discord_channel_id}

    def channel(self, platform: Platform, incident: IncidentCard) -> str:
        service = self.services.get(incident.service)
        if service is not None:
            for route in service.routes:
                if _matches(route.components, route.impact, incident):
                    chosen = route.slack_channel if platform == "slack" else route.discord_channel_id
                    if chosen:
                        return chosen
            own = service.slack_channel if platform == "slack" else service.discord_channel_id
            if own:
                return own
        default = self.defaults[platform]
        assert default is not None, f"no {platform} channel configured"
        return default

    def service(self, name: str) -> ServiceSpec | None:
        return self.services.get(name)


def _matches(components: Sequence[str], impacts: Sequence[str], incident: IncidentCard) -> bool:
    wanted = {c.lower() for c in components}
    if wanted and not wanted & {c.lower() for c in incident.components}:
        return False
    return not impacts or incident.impact in impacts
