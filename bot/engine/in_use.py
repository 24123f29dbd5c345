"""Which models matter here: the setting `STATUSBOT_MODELS_IN_USE`, or by default the models our probes
call and the models the team's traffic has reported. A vendor incident that names only other models
"does not affect the models we use"."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import Session, select

from bot.engine.model_names import matches_any
from bot.store.models import TrafficRollup


@dataclass(frozen=True)
class ModelsInUse:
    configured: tuple[str, ...] = ()  # the setting; empty: probed + traffic
    probed: tuple[str, ...] = ()

    def ids(self, session: Session, service: str) -> set[str]:
        if self.configured:
            return set(self.configured)
        query = select(TrafficRollup.model).where(TrafficRollup.service == service).distinct()
        return set(self.probed) | set(session.exec(query))

    def affected(self, session: Session, service: str, names: Iterable[str]) -> bool:
        """Whether an incident naming these models (none: any) concerns a model in use. With no model
        known to be in use at all, every incident does."""
        names = list(names)
        ids = self.ids(session, service) if names else set()
        return not names or not ids or any(matches_any(names, model) for model in ids)
