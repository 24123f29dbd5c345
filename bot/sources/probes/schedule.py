"""When each lane of each probe stream runs next, and which lanes are in flight: the plan `ProbeRunner`
turns into APScheduler jobs and `bench/detection.py` drives in simulated time. Pure: no scheduler,
no clock (times come in as arguments).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.sources.probes import detector, lanes
from bot.sources.probes.lanes import LaneSpec

Slot = tuple[str, str]  # (stream key, lane name)


@dataclass
class Schedule:
    specs: Mapping[str, tuple[LaneSpec, ...]]  # the lanes of each stream
    due: dict[Slot, datetime] = field(default_factory=dict)
    busy: set[Slot] = field(default_factory=set)

    @classmethod
    def starting(cls, specs: Mapping[str, tuple[LaneSpec, ...]], now: datetime) -> Schedule:
        """Every lane at its offset from `now`, so lanes and models interleave from the first minute."""
        due = {(key, lane.name): now + lane.offset for key, stream in specs.items() for lane in stream}
        return cls(specs, due)

    def lane(self, key: str, name: str | None = None) -> LaneSpec:
        """A stream's lane by name; without a name its first (the main) lane."""
        stream = self.specs[key]
        return next((lane for lane in stream if lane.name == name), stream[0]) if name else stream[0]

    def next(self) -> tuple[Slot, datetime] | None:
        """The slot due first among those not in flight (None while every lane is)."""
        free = [slot for slot in self.due if slot not in self.busy]
        if not free:
            return None
        slot = min(free, key=lambda s: self.due[s])
        return slot, self.due[slot]

    def begin(self, key: str, name: str) -> None:
        self.busy.add((key, name))

    def finish(self, key: str, name: str, state: detector.State, now: datetime) -> dict[str, datetime]:
        """The lane ended at `now` leaving the stream in `state`: the lanes whose run moved, and when."""
        self.busy.discard((key, name))
        busy = frozenset(lane for k, lane in self.busy if k == key)
        due = {lane.name: self.due[(key, lane.name)] for lane in self.specs[key]}
        planned = lanes.plan(state, now, name, due, self.specs[key], busy)
        moved = {lane: at for lane, at in planned.items() if lane == name or at != due[lane]}
        self.due.update({(key, lane): at for lane, at in moved.items()})
        return moved

    def retry(self, key: str, name: str, at: datetime) -> None:
        """A run that crashed: the lane is free again and runs at `at`."""
        self.busy.discard((key, name))
        self.due[(key, name)] = at
