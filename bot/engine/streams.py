"""The outcome streams that can see an outage: a probe (one per model it calls), the team's own
traffic on one model, an Alertmanager alert.

A stream's `key` is unique per service: the detector's state (`probe_state`) and the probe results are
keyed by it, and an incident records every stream that saw it. The key rules:

- a probe with no model, or one model: `<probe>` (what every probe was keyed by before probes could
  call several models, so existing data stays valid); a probe with several models: `<probe>:<model>`;
- traffic: `traffic:<source>:<model>`;
- an alert: `alert:<alertname>` or `alert:<alertname>:<model>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store.records import AnyStream

PROBE, TRAFFIC, ALERTMANAGER = "probe", "traffic", "alertmanager"  # the incidents' and entries' `source`


@dataclass(frozen=True)
class Stream:
    """One outcome stream that can see an outage."""

    key: str  # unique per service
    source: str  # "probe", "traffic", "alertmanager": the `source` of the incident and its entries
    model: str | None = None  # the model it calls, when it is one model's stream
    probe: str | None = None  # the [[probes]] entry it belongs to (its components map); None for traffic/alerts

    @classmethod
    def probe_model(cls, probe: str, model: str | None, *, several: bool = False) -> Stream:
        """A probe's stream for one of its models; `several`: the probe calls more than one model."""
        key = f"{probe}:{model}" if several and model else probe
        return cls(key, PROBE, model, probe)

    @classmethod
    def of(cls, row: AnyStream) -> Stream:
        """The stream an `incident_stream` row names."""
        return cls(row.stream, row.source, row.model, row.probe)

    @classmethod
    def traffic(cls, source: str, model: str) -> Stream:
        return cls(f"{TRAFFIC}:{source}:{model}", TRAFFIC, model or None)

    @classmethod
    def alert(cls, name: str, model: str | None) -> Stream:
        return cls(f"alert:{name}" + (f":{model}" if model else ""), ALERTMANAGER, model or None)

    @property
    def label(self) -> str:
        """How entries and titles name it: `Probe api`, `Probe api on claude-opus-4-5`,
        `Traffic from checkout on claude-opus-4-5`, `Alert HighErrorRate on claude-opus-4-5`; a stream of
        another source by that source and its key: `Newsource health` for `newsource:health`."""
        if self.source == PROBE:
            name = self.probe or self.key
            return f"Probe {name}" + (f" on {self.model}" if self.key != name and self.model else "")
        on = f" on {self.model}" if self.model else ""
        if self.source == TRAFFIC:
            return f"Traffic from {self._name(TRAFFIC)}{on}"
        if self.source == ALERTMANAGER:
            return f"Alert {self._name('alert')}{on}"
        return f"{self.source.capitalize()} {self._name(self.source)}{on}"  # a source of its own: `Newsource health`

    def _name(self, prefix: str) -> str:
        """The key without its `prefix:` and its `:<model>`: the traffic's sender, the alert's name."""
        name = self.key.removeprefix(f"{prefix}:")
        return name.removesuffix(f":{self.model}") if self.model else name
