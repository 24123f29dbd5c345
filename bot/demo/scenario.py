"""Turns the shipped demo scenario into Statuspage API documents as they stood at a given minute."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from bot.clock import parse_time


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class Scenario:
    data: dict[str, Any]

    @classmethod
    def load(cls, *, leave_open: bool = False) -> Scenario:
        """The outage; `leave_open` adds the incident the demo leaves open (for a newcomer to acknowledge)."""
        text = resources.files("bot.demo").joinpath("scenario.json").read_text(encoding="utf-8")
        data = json.loads(text)
        return cls(data if leave_open else {**data, "open": []})

    @property
    def start(self) -> datetime:
        moment = parse_time(self.data["start"])
        assert moment is not None
        return moment

    def starting(self, moment: datetime) -> Scenario:
        """The same story, moved to start at `moment` (the demo ends about now, so `stats` counts it)."""
        return Scenario({**self.data, "start": _iso(moment.replace(second=0, microsecond=0))})

    def at(self, minute: float) -> datetime:
        return self.start + timedelta(minutes=minute)

    def moments(self) -> list[float]:
        """Every minute at which something happens, in order."""
        times = {u["at"] for spec in (self.data["incident"], *self.data["open"]) for u in spec["updates"]}
        times.add(self.data["acknowledge"]["at"])
        return sorted(times)

    def documents(self, minute: float) -> dict[str, Any]:
        incidents = [
            self._incident(i, minute)
            for i in (self.data["incident"], *self.data["open"], *self.data["history"])
            if i["updates"][0]["at"] <= minute
        ]
        return {
            "/api/v2/incidents.json": {"page": self._page(minute), "incidents": incidents},
            "/api/v2/summary.json": {
                "page": self._page(minute),
                "components": self._components(minute),
                "incidents": [i for i in incidents if i["status"] != "resolved"],
                "scheduled_maintenances": [],
            },
        }

    def _page(self, minute: float) -> dict[str, Any]:
        return {**self.data["page"], "updated_at": _iso(self.at(minute))}

    def _component_status(self, minute: float) -> dict[str, str]:
        status = {c["id"]: "operational" for c in self.data["components"]}
        for update in (u for spec in (self.data["incident"], *self.data["open"]) for u in spec["updates"]):
            if update["at"] <= minute:
                status.update(update.get("components", {}))
        return status

    def _components(self, minute: float) -> list[dict[str, Any]]:
        status = self._component_status(minute)
        return [{**c, "status": status[c["id"]], "group": False} for c in self.data["components"]]

    def _incident(self, spec: dict[str, Any], minute: float) -> dict[str, Any]:
        seen = [u for u in spec["updates"] if u["at"] <= minute]
        touched = {cid for update in spec["updates"] for cid in update.get("components", {})}
        names = {c["id"]: c["name"] for c in self.data["components"]}
        before = {c["id"]: "operational" for c in self.data["components"]}
        updates = []
        for index, update in enumerate(seen):
            moved = update.get("components", {})
            affected = [
                {"code": cid, "name": names[cid], "old_status": before[cid], "new_status": new}
                for cid, new in moved.items()
            ]
            before.update(moved)
            at = _iso(self.at(update["at"]))
            updates.append(
                {
                    "id": f"{spec['id']}u{index}",
                    "status": update["status"],
                    "body": update["body"],
                    "incident_id": spec["id"],
                    "created_at": at,
                    "updated_at": at,
                    "display_at": at,
                    "affected_components": affected,
                }
            )
        status = seen[-1]["status"]
        return {
            "id": spec["id"],
            "name": spec["name"],
            "status": status,
            "impact": spec["impact"],
            "created_at": _iso(self.at(spec["started"])),
            "started_at": _iso(self.at(spec["started"])),
            "resolved_at": updates[-1]["created_at"] if status == "resolved" else None,
            "shortlink": f"https://stspg.io/{spec['id']}",
            "page_id": self.data["page"]["id"],
            "incident_updates": list(reversed(updates)),
            "components": [{"id": cid, "name": names[cid]} for cid in sorted(touched) if cid in names],
        }
