"""What the reporter holds between sends: per minute and model, how many calls went well, how many failed
by error type, and a latency histogram. Thread-safe, bounded, and never raising.

The counts of a minute are cumulative: every send repeats the running totals of each minute still held,
so a lost or repeated batch changes nothing (the bot keeps the larger of two totals for one sender and
minute). A minute is forgotten once it is over and its final totals were accepted; minutes the bot could
not take for `max_minutes` are dropped and counted, as are calls to more than `max_models` models.
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SLOTS_PER_DOUBLING = 8  # latency histogram resolution: p95 within ~9%


@dataclass
class Bucket:
    ok: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    latency: Counter[int] = field(default_factory=Counter)  # log2 slot of ok calls' latency in ms
    version: int = 0

    @property
    def calls(self) -> int:
        return self.ok + sum(self.errors.values())

    def p95_ms(self) -> float | None:
        total = sum(self.latency.values())
        if not total:
            return None
        rank, seen = math.ceil(0.95 * total), 0
        for slot in sorted(self.latency):
            seen += self.latency[slot]
            if seen >= rank:
                return round(2 ** ((slot + 1) / SLOTS_PER_DOUBLING), 1)
        return None  # pragma: no cover  (the loop always reaches the rank)


Key = tuple[int, str]  # (minute since the epoch, model)
Snapshot = list[tuple[Key, int, dict[str, Any]]]


class Tally:
    def __init__(
        self,
        source: str,
        clock: Callable[[], float] = time.time,
        max_minutes: int = 15,
        max_models: int = 50,
    ) -> None:
        self.source = source
        self.clock = clock
        self.max_minutes = max_minutes
        self.max_models = max_models
        self.recorded = 0
        self.dropped = 0
        self._buckets: dict[Key, Bucket] = {}
        self._lock = threading.Lock()

    def record(self, model: str, error: str | None, latency_ms: float | None = None) -> int:
        """One attempt's outcome: `error` None for a good answer, else its error type. Returns its minute."""
        minute = int(self.clock() // 60)
        with self._lock:
            bucket = self._buckets.get((minute, model))
            if bucket is None:
                if sum(1 for m, _ in self._buckets if m == minute) >= self.max_models:
                    self.dropped += 1
                    return minute
                bucket = self._buckets[(minute, model)] = Bucket()
            if error is None:
                bucket.ok += 1
                if latency_ms is not None and latency_ms > 0:
                    bucket.latency[math.floor(math.log2(max(latency_ms, 1.0)) * SLOTS_PER_DOUBLING)] += 1
            else:
                bucket.errors[error] += 1
            bucket.version += 1
            self.recorded += 1
        return minute

    def take_back(self, minute: int, model: str, error: str) -> None:
        """Undo a failure recorded too early (the connection was retried and the attempt went on)."""
        with self._lock:
            bucket = self._buckets.get((minute, model))
            if bucket is not None and bucket.errors[error] > 0:
                bucket.errors[error] -= 1
                bucket.errors += Counter()  # drop zero counts
                bucket.version += 1
                self.recorded -= 1

    def snapshot(self) -> Snapshot:
        """The running totals of every minute held, oldest first (stale minutes are dropped first)."""
        now = int(self.clock() // 60)
        with self._lock:
            for key in [k for k in self._buckets if k[0] <= now - self.max_minutes]:
                self.dropped += self._buckets.pop(key).calls
            return [(key, b.version, self._entry(key, b)) for key, b in sorted(self._buckets.items())]

    def accepted(self, snapshot: Snapshot) -> None:
        """The bot took these totals: forget the minutes that are over and did not change since."""
        now = int(self.clock() // 60)
        with self._lock:
            for key, version, _ in snapshot:
                bucket = self._buckets.get(key)
                if bucket is not None and key[0] < now and bucket.version == version:
                    del self._buckets[key]

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()
            self._lock = threading.Lock()  # after a fork, a lock the parent held stays held here

    def held(self) -> int:
        with self._lock:
            return sum(b.calls for b in self._buckets.values())

    def _entry(self, key: Key, bucket: Bucket) -> dict[str, Any]:
        minute, model = key
        entry: dict[str, Any] = {
            "minute": datetime.fromtimestamp(minute * 60, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "model": model,
            "source": self.source,
            "ok": bucket.ok,
            "errors": dict(bucket.errors),
        }
        p95 = bucket.p95_ms()
        if p95 is not None:
            entry["p95_ms"] = p95
        return entry
