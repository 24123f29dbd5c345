"""Which models matter here: the setting `STATUSBOT_MODELS_IN_USE`, or by default the models our probes
call and the models the team's traffic has reported. A vendor incident that names only other models
"does not affect the models we use"."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlmodel import Session, select

from bot.engine.model_names import matches_any
from bot.store.models import TrafficRollup

TRAFFIC_TTL = 60.0  # seconds


@dataclass
class ModelsInUse:
    """The traffic's models are read at most once a minute per service (a page's poll reads every
    listed incident again; the rollups are many)."""

    configured: tuple[str, ...] = ()  # the setting; empty: probed + traffic
    probed: tuple[str, ...] = ()
    _seen: dict[str, tuple[float, frozenset[str]]] = field(default_factory=dict, repr=False)

    def ids(self, session: Session, service: str) -> set[str]:
        if self.configured:
            return set(self.configured)
        return set(self.probed) | self._traffic(session, service)

    def _traffic(self, session: Session, service: str) -> frozenset[str]:
        at, models = self._seen.get(service, (float("-inf"), frozenset()))
        if time.monotonic() - at > TRAFFIC_TTL:
            query = select(TrafficRollup.model).where(TrafficRollup.service == service).distinct()
            models = frozenset(session.exec(query))
            self._seen[service] = (time.monotonic(), models)
        return models

    def affected(self, session: Session, service: str, names: Iterable[str]) -> bool:
        """Whether an incident naming these models (none: any) concerns a model in use. With no model
        known to be in use at all, every incident does."""
        names = list(names)
        ids = self.ids(session, service) if names else set()
        return not names or not ids or any(matches_any(names, model) for model in ids)
