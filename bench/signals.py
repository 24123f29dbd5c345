"""Traffic-signal figures:
1. ingest throughput of `POST /signals/claude` against `statusbot run` as its own process (SQLite file),
   raw calls (batches of 5,000) and pre-aggregated counts, calls accepted and aggregated per second;
2. RSS growth of that process per million raw calls ingested;
3. detection delay p50/p95 for 5/10/20% errors at 1/10/100 calls/s, from the outage's start to the
   incident, through the real reporter tally, the real route's store and the real detector run, in
   simulated time (the reporter's 10 s send interval included);
4. false incidents in 30 simulated days at 2% background errors and 10 calls/s, straight through the
   detector run's per-stream step (the database only carries its state between runs).
`--ingest-only` and `--detection-only` print a part."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy
from _common import free_port, percentile, rss_mib, wait_healthy

from bot.config import Settings
from bot.report.tally import Tally
from bot.sources.probes import detector
from bot.sources.signals import batch as batches
from bot.sources.signals import detection, feed
from bot.sources.signals.sources import policy_from
from bot.sources.signals.store import body_digest, store
from bot.store.db import Database
from tests.fakes.statuspage import FakeStatuspage

TOKEN = "bench-signals-token"
MODELS = ("claude-opus-4-5", "claude-sonnet-4-5", "claude-haiku-4-5")
RAW_BATCH, CONCURRENCY = 5000, 4


def raw_batch(sender: str, now: datetime, n: int = RAW_BATCH) -> bytes:
    calls = [
        {
            "at": (now - timedelta(milliseconds=7 * i)).isoformat(),
            "model": MODELS[i % 3],
            "status": 529 if i % 50 == 0 else 200,
            "error_type": "overloaded_error" if i % 50 == 0 else None,
            "latency_ms": 300.0 + i % 700,
        }
        for i in range(n)
    ]
    return json.dumps({"sender": sender, "source": "bench", "calls": calls}).encode()


def count_batch(sender: str, now: datetime, minutes: int = 200) -> tuple[bytes, int]:
    """Running totals of `minutes` minutes x 3 models; returns the body and the calls it stands for."""
    start = now.replace(second=0, microsecond=0)
    counts = [
        {
            "minute": (start - timedelta(minutes=m)).isoformat(),
            "model": model,
            "ok": 600,
            "errors": {"overloaded_error": 6, "rate_limit_error": 2},
            "p95_ms": 1800.0,
        }
        for m in range(minutes)
        for model in MODELS
    ]
    return json.dumps({"sender": sender, "source": "bench", "counts": counts}).encode(), 608 * len(counts)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def post_all(http: httpx.AsyncClient, bodies: list[bytes]) -> float:
    """Send every body with CONCURRENCY senders; the seconds it took. Every batch must be taken whole."""
    queue = list(bodies)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}

    async def sender() -> None:
        while queue:
            body = queue.pop()
            response = await http.post("/signals/claude", content=body, headers=headers)
            if response.status_code != 202 or response.json()["ignored"]:
                raise RuntimeError(f"batch refused: {response.status_code} {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started


async def ingest_figures(tmp: Path) -> None:
    async with FakeStatuspage() as page:
        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/signals.db",
            "STATUSPAGE_URL": page.base_url,
            "PORT": str(port),
            "STATUSBOT_HOST": "127.0.0.1",
            "STATUSBOT_SIGNALS_TOKEN": TOKEN,
            "STATUSBOT_SIGNALS_RATE": "1000",
            "STATUSBOT_CONSOLE": "false",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
                await wait_healthy(http, 60)  # a loaded machine starts it slowly
                now = datetime.now(UTC)
                await post_all(http, [raw_batch(f"warm{i}", now) for i in range(4)])
                before = rss_mib(proc.pid)
                rounds, per_round = 5, 40  # 5 x 40 x 5,000 = 1,000,000 raw calls
                seconds = cpu = 0.0
                for r in range(rounds):
                    bodies = [raw_batch(f"raw{r}-{i}", datetime.now(UTC)) for i in range(per_round)]
                    cpu_before = cpu_seconds(proc.pid)
                    seconds += await post_all(http, bodies)
                    cpu += cpu_seconds(proc.pid) - cpu_before
                calls = rounds * per_round * RAW_BATCH
                after = rss_mib(proc.pid)
                print(
                    f"ingest, raw calls (batches of {RAW_BATCH:,}, {CONCURRENCY} senders): "
                    f"{calls / seconds:,.0f} calls/s accepted and aggregated ({calls:,} calls in {seconds:.1f} s, "
                    f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores); "
                    f"{calls / cpu:,.0f} calls per CPU-second of the bot"
                )
                print(
                    f"RSS of the bot: {before:.0f} MiB before, {after:.0f} MiB after 1,000,000 raw calls: "
                    f"{after - before:+.1f} MiB per 1M calls"
                )
                made = [count_batch(f"agg{i}", datetime.now(UTC)) for i in range(40)]
                seconds = await post_all(http, [body for body, _ in made])
                represented = sum(n for _, n in made)
                entries = 40 * 200 * len(MODELS)
                print(
                    f"ingest, pre-aggregated counts (600 entries a batch): {entries / seconds:,.0f} entries/s, "
                    f"standing for {represented / seconds:,.0f} calls/s"
                )
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


POLICY = policy_from(Settings(database_url="sqlite://", signals_token="x"))  # the defaults
SEND_EVERY, RUN_EVERY = 10, int(POLICY.interval.total_seconds())  # the reporter's interval; the detector run's
BACKGROUND, WARM_UP, GIVE_UP = 0.02, timedelta(minutes=5), timedelta(hours=6)
START = datetime(2026, 6, 2, 12, tzinfo=UTC)
TRIALS = 20


@dataclass
class Trial:
    """One sender's calls through the reporter's tally, the route's store and the detector run, on a clock
    that moves a second at a time."""

    db: Database
    source: str
    rng: random.Random
    rate: int  # calls per second
    now: datetime

    def __post_init__(self) -> None:
        self.began = self.now
        self.tally = Tally(self.source, clock=lambda: self.now.timestamp())
        self.send_phase, self.run_phase = self.rng.randrange(SEND_EVERY), self.rng.randrange(RUN_EVERY)

    def second(self, error_rate: float) -> list[detection.Due]:
        for i in range(self.rate):
            failed = self.rng.random() < error_rate
            self.tally.record("claude-opus-4-5", "overloaded_error" if failed else None, 400.0 + i)
        self.now += timedelta(seconds=1)
        tick = int((self.now - self.began).total_seconds())
        if (tick + self.send_phase) % SEND_EVERY == 0:
            self.send()
        if (tick + self.run_phase) % RUN_EVERY == 0:
            return self.run()
        return []

    def send(self) -> None:
        snapshot = self.tally.snapshot()
        body = json.dumps({"sender": self.source, "counts": [entry for _, _, entry in snapshot]}).encode()
        parsed = batches.parse(body, self.now, 10_000)
        with self.db.session() as session:
            store(session, "claude", parsed, self.now, body_digest(body))
            session.commit()
        self.tally.accepted(snapshot)

    def run(self) -> list[detection.Due]:
        with self.db.session() as session:
            due = detection.step(session, self.now, POLICY, lambda _service, _stream: False)
            for stream in {d.stream for d in due}:
                detection.done(session, stream)
            session.commit()
        return [d for d in due if d.stream.startswith(f"{feed.TRAFFIC}:{self.source}:")]


def delay(db: Database, source: str, rate: int, error_rate: float, rng: random.Random, at: datetime) -> float | None:
    """Seconds from the outage's start to the incident (None: not within GIVE_UP)."""
    trial = Trial(db, source, rng, rate, at)
    for _ in range(int(WARM_UP.total_seconds())):
        assert not trial.second(BACKGROUND), "a false incident during the warm-up"
    began = trial.now
    while trial.now - began < GIVE_UP:
        if any(d.decision.action == detector.Action.OPEN for d in trial.second(error_rate)):
            return (trial.now - began).total_seconds()
    return None


def detection_figures(tmp: Path) -> None:
    db = Database(f"sqlite:///{tmp}/detection.db")
    db.upgrade()
    rng, stretch = random.Random(2026), WARM_UP + GIVE_UP + timedelta(hours=1)
    starts = (START + stretch * n for n in itertools.count())  # each trial reads none of another's rollups
    for rate in (1, 10, 100):
        for error_rate in (0.05, 0.10, 0.20):
            found = [
                delay(db, f"r{rate}e{error_rate:g}t{n}", rate, error_rate, rng, next(starts)) for n in range(TRIALS)
            ]
            lags = sorted(x for x in found if x is not None)
            missed = len(found) - len(lags)
            figures = f"p50 {percentile(lags, 50):.0f} s, p95 {percentile(lags, 95):.0f} s" if lags else "-"
            print(
                f"detection delay, {error_rate:.0%} errors at {rate} calls/s: {figures} over {TRIALS} outages"
                + (f", {missed} not detected within {GIVE_UP.total_seconds() / 3600:g} h" if missed else "")
                + f" (after {WARM_UP.total_seconds() / 60:g} min at {BACKGROUND:.0%}; sends every {SEND_EVERY} s,"
                f" runs every {RUN_EVERY} s)"
            )
    db.dispose()


def background_runs(seed: int, rate: int, days: int) -> Iterator[feed.Delta]:
    per_run = rate * RUN_EVERY
    for failed in numpy.random.default_rng(seed).binomial(per_run, BACKGROUND, days * 86400 // RUN_EVERY):
        yield feed.Delta("claude", "bench", "claude-opus-4-5", per_run - int(failed), int(failed))


def false_incident_figures(streams: int = 2, days: int = 30, rate: int = 10) -> None:
    """30 days of each stream's runs straight through the detector step's `observe` (without the database:
    the run's transaction only carries the state from one run to the next)."""
    opened = 0
    for seed in range(streams):
        state, now = detector.State(), START
        for delta in background_runs(seed, rate, days):
            now += timedelta(seconds=RUN_EVERY)
            state, decisions = detection.observe(state, now, delta, POLICY, False)
            opened += sum(d.action in (detector.Action.OPEN, detector.Action.REOPEN) for d in decisions)
    print(
        f"false incidents at {BACKGROUND:.0%} background errors and {rate} calls/s: {opened} in "
        f"{streams} streams x {days} simulated days ({streams * days * 86400 * rate:,} calls)"
    )


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if "--detection-only" not in argv:
            asyncio.run(ingest_figures(Path(tmp)))
        if "--ingest-only" not in argv:
            detection_figures(Path(tmp))
            false_incident_figures()


if __name__ == "__main__":
    main(sys.argv[1:])
