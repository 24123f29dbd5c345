"""The probe streams the settings declare: one per model of each probe (`ProbeSpec.streams`), each with
its lanes (`bot.sources.probes.lanes`) and the policy it is detected and scheduled by."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from bot.config import ProbeSpec, Settings
from bot.engine.streams import PROBE, Stream
from bot.sources.probes import detector, lanes
from bot.sources.probes.classify import Attempt


@dataclass(frozen=True)
class ProbeStream:
    """One outcome stream of a probe: the probe, the model it calls (None for http and models probes)
    and its lanes."""

    key: str
    spec: ProbeSpec
    model: str | None
    lanes: tuple[lanes.LaneSpec, ...]

    @property
    def stream(self) -> Stream:
        """The engine's view of it (bot/engine/streams.py)."""
        return Stream(self.key, PROBE, self.model, self.spec.name)


def policy_from(settings: Settings) -> detector.Policy:
    return detector.Policy(
        open_after=settings.probe_open_after,
        resolve_after=settings.probe_resolve_after,
        flap_cycles=settings.probe_flap_cycles,
        flap_window=timedelta(seconds=settings.probe_flap_window),
        reopen_window=timedelta(seconds=settings.probe_reopen_window),
        interval=timedelta(seconds=settings.probe_interval),
        recheck=timedelta(seconds=settings.probe_recheck),
    )


def lanes_of(
    kind: str, settings: Settings, index: int = 0, count: int = 1, interval: float | None = None
) -> tuple[lanes.LaneSpec, ...]:
    """The lanes of the `index`-th of `count` streams, at the settings' intervals (or the probe's own)."""
    policy = policy_from(settings)
    if interval is not None:
        policy = replace(policy, interval=timedelta(seconds=interval))
    return lanes.lanes_for(kind, policy, timedelta(seconds=settings.probe_fast_interval), index, count)


def streams_of(settings: Settings) -> dict[str, ProbeStream]:
    """Every stream of every probe; their lanes staggered across all of them, so runs interleave."""
    declared = [(key, spec, model) for spec in settings.effective_probes() for key, model in spec.streams()]
    return {
        key: ProbeStream(key, spec, model, lanes_of(spec.kind, settings, index, len(declared), spec.interval))
        for index, (key, spec, model) in enumerate(declared)
    }


def config_line(stream: ProbeStream, attempt: Attempt) -> str:
    """One line that says which setting is wrong: an unknown model names the model and the probe to fix."""
    answer = f"HTTP {attempt.status_code} {attempt.error_type or ''}: {attempt.detail or ''}".strip()
    if attempt.error_type == "not_found_error" and stream.model is not None:
        return (
            f"probe {stream.key}: the API does not know the model {stream.model!r} ({answer}); fix `models` of "
            f"[[probes]] {stream.spec.name} in statusbot.toml; this is configuration, not a vendor outage"
        )
    return (
        f"probe {stream.key}: our configuration is wrong ({answer}); check ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL "
        "and the probe's model; this is not a vendor outage"
    )
