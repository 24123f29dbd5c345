"""Probe figures, in simulated time through the real detector (and the real store for storage):
1. detection latency over 100 simulated outages at the default settings, fast errors and timeouts;
2. false incidents per 30 days at 1% background errors;
3. database size per probe per simulated year, with the retention job running daily."""

from __future__ import annotations

import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from _common import percentile

from bot.config import Settings
from bot.sources.probes import detector
from bot.sources.probes.retention import prune
from bot.sources.probes.runner import policy_from
from bot.store.db import Database
from bot.store.enums import ProbeOutcome

START = datetime(2026, 1, 1, tzinfo=UTC)
POLICY = policy_from(Settings(database_url="sqlite://"))  # the defaults
TIMEOUT = timedelta(seconds=Settings.model_fields["probe_timeout"].default)


def detect(outage_at: datetime, attempt_takes: timedelta, phase: timedelta) -> float:
    """Seconds from outage start to the 'open' decision, for a probe whose clock is offset by `phase`."""
    state, now = detector.State(), START + phase
    while True:
        done = now + (attempt_takes if now >= outage_at else timedelta(seconds=0.3))
        outcome = ProbeOutcome.FAILURE if now >= outage_at else ProbeOutcome.OK
        state, decisions = detector.observe(state, done, outcome, POLICY)
        if any(d.action == detector.Action.OPEN for d in decisions):
            return (done - outage_at).total_seconds()
        now = done + detector.next_delay(state, POLICY)


def detection_figures(rng: random.Random) -> None:
    for label, takes in (
        ("fast errors (5xx/529 in 0.3 s)", timedelta(seconds=0.3)),
        (f"timeouts ({TIMEOUT.total_seconds():g} s each)", TIMEOUT),
    ):
        lags = [detect(START + timedelta(hours=1), takes, timedelta(seconds=rng.uniform(0, 30))) for _ in range(100)]
        print(
            f"detection latency, {label}: p50 {percentile(lags, 50):.1f} s, p95 {percentile(lags, 95):.1f} s,"
            f" max {max(lags):.1f} s over 100 outages"
        )


def false_incidents(rng: random.Random, days: int = 365) -> None:
    state, now, opened, end = detector.State(), START, 0, START + timedelta(days=days)
    while now < end:
        outcome = ProbeOutcome.FAILURE if rng.random() < 0.01 else ProbeOutcome.OK
        state, decisions = detector.observe(state, now, outcome, POLICY)
        opened += sum(d.action in (detector.Action.OPEN, detector.Action.REOPEN) for d in decisions)
        now += detector.next_delay(state, POLICY)
    print(
        f"false incidents at 1% background errors: {opened} in {days} simulated days "
        f"({opened * 30 / days:.2f} per 30 days)"
    )


def storage_figures(rng: random.Random, days: int = 365) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "year.db"
        database = Database(f"sqlite:///{path}")
        database.upgrade()
        started = time.perf_counter()
        per_day = int(86400 / POLICY.interval.total_seconds())
        for day in range(days):
            _insert_day(path, START + timedelta(days=day), per_day, rng)
            prune(database, START + timedelta(days=day + 1), keep_days=7)
        database.dispose()
        with sqlite3.connect(path) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            before = path.stat().st_size
            conn.execute("VACUUM")
        after = path.stat().st_size
    print(
        f"database size for one probe after a simulated year ({per_day} results a day, 7 days raw, then "
        f"per-minute rollups, per-hour after 90 days): {before / 2**20:.1f} MiB, {after / 2**20:.1f} MiB "
        f"after VACUUM (simulated in {time.perf_counter() - started:.0f} s)"
    )


def _insert_day(path: Path, day: datetime, count: int, rng: random.Random) -> None:
    rows = []
    for n in range(count):
        at = (day + timedelta(seconds=n * POLICY.interval.total_seconds())).replace(tzinfo=None)
        failed = rng.random() < 0.01
        rows.append(
            (
                "api",
                at.isoformat(sep=" "),
                "failure" if failed else "ok",
                rng.uniform(300, 900),
                529 if failed else 200,
                "overloaded_error" if failed else None,
                f"req_{n:08d}",
            )
        )
    with sqlite3.connect(path) as conn:
        conn.executemany(
            "INSERT INTO probe_result (probe, at, outcome, latency_ms, status_code, error_type,"
            " request_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            rows,
        )


def main() -> None:
    rng = random.Random(2026)
    detection_figures(rng)
    false_incidents(rng)
    storage_figures(rng)


if __name__ == "__main__":
    main()
