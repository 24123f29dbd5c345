"""RSS of `statusbot run` (the whole process: VmRSS), the median of several runs:

1. after start-up, console only;
   Each run starts as a deployment does: `statusbot db upgrade` (the Procfile's release phase), then
   `statusbot run` (which then finds the schema current and never loads Alembic).
2. after start-up with Slack and Discord on, against the loopback fakes (FakeSlack, FakeDiscord and its
   gateway): the gateway READY, /claude registered, the first poll done;
3. that process before and after 100 incidents opened and resolved on its status page, each with its
   postmortem draft and chart posted to both chats. Charts are drawn by the bot's chart worker, a child
   process that leaves when idle: its peak RSS is printed apart, and whether it is gone afterwards.

Slack's 1 message/s/channel pacing and Discord's rate limits are lifted for (3), or 100 incidents would
take ten minutes of waiting; neither changes what the process holds in memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

# bench/discord.py would shadow the discord package: this folder goes last on sys.path (as in that script).
if sys.path and Path(sys.path[0] or ".").resolve() == Path(__file__).resolve().parent:
    sys.path.append(sys.path.pop(0))

import argparse
import asyncio
import os
import sqlite3
import statistics
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import chat_environment, rss_mib

from bot.chat.slack import manifest
from tests.discord_world import APP_ID, CHANNEL_ID, GUILD_ID, TOKEN
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.fakes.statuspage import FakeStatuspage

RESOLUTIONS, BATCH = 100, 10
CHART_IDLE = 20.0  # bot/postmortem/chart_worker.py: IDLE
UNPACED = (  # `statusbot run`, with Slack's pacing lifted (the Pacer's interval: 0 s)
    "import bot.chat.slack.sink as s, bot.delivery.pacing as p, bot.launch as c\n"
    "init = s.SlackSink.__init__\n"
    "def unpaced(self, *a, **k):\n    k['pacer'] = p.Pacer(0.0)\n    init(self, *a, **k)\n"
    "s.SlackSink.__init__ = unpaced\nimport sys\nsys.argv = ['statusbot', 'run']\nc.main()\n"
)


def release(env: dict[str, str]) -> None:
    """The Procfile's release phase (`statusbot db upgrade`) before `web: statusbot run`."""
    subprocess.run([sys.executable, "-m", "bot", "db", "upgrade"], env=env, check=True, capture_output=True)


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except FileNotFoundError:  # that thread ended meanwhile
            continue
    return found


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def incident(number: int, started: datetime, resolved: bool) -> dict[str, Any]:
    updates = [("investigating", started, "We are looking into elevated errors.")]
    if resolved:
        updates.append(("resolved", started + timedelta(minutes=20), "This incident has been resolved."))
    return {
        "id": f"bench{number:04d}",
        "name": f"Elevated errors, #{number}",
        "status": updates[-1][0],
        "impact": "minor",
        "created_at": iso(started),
        "started_at": iso(started),
        "resolved_at": iso(updates[-1][1]) if resolved else None,
        "shortlink": f"https://stspg.io/bench{number:04d}",
        "incident_updates": [
            {"id": f"bench{number:04d}u{i}", "status": s, "body": body, "created_at": iso(at), "display_at": iso(at)}
            for i, (s, at, body) in reversed(list(enumerate(updates)))
        ],
        "components": [],
    }


def page_doc(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"page": {"id": "bench", "name": "Bench", "url": "https://status.example.com"}, "incidents": items}


def pending(db: Path) -> tuple[int, int]:
    """(undelivered outbox rows, postmortems delivered)"""
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        left = conn.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0]
        done = conn.execute(
            "SELECT count(*) FROM outbox WHERE action = 'postmortem' AND delivered_at IS NOT NULL"
        ).fetchone()[0]
    return int(left), int(done)


async def until(condition: Any, what: str, limit: float = 300.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def console_only() -> float:
    async with FakeStatuspage(incidents=page_doc([])) as page:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp}/rss.db",
                "STATUSPAGE_URL": page.base_url,
                "PORT": "0",
                "STATUSBOT_HOST": "127.0.0.1",
                "STATUSBOT_CONSOLE": "true",
            }
            release(env)
            proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, stdout=subprocess.DEVNULL)
            try:
                await until(lambda: page.requests, "the first poll", 60)
                await asyncio.sleep(1.0)
                return rss_mib(proc.pid)
            finally:
                proc.terminate()
                proc.wait(timeout=15)


async def both_chats(resolutions: int) -> dict[str, float]:
    granted = manifest.load()["oauth_config"]["scopes"]["bot"]
    unlimited = {"message_rate_limit": (10**9, 1.0), "default_rate_limit": (10**9, 1.0), "global_rate_limit": None}
    figures: dict[str, float] = {}
    async with (
        FakeSlack(scopes=granted, post_rate_per_sec=None) as slack,
        FakeStatuspage(incidents=page_doc([])) as page,
        FakeDiscord(
            token=TOKEN,
            application_id=APP_ID,
            guild_id=GUILD_ID,
            channels={CHANNEL_ID: {"name": "incidents"}},
            **unlimited,
        ) as dc,
    ):
        with tempfile.TemporaryDirectory() as folder:
            tmp = Path(folder)
            env = {**chat_environment(tmp, page, slack, dc), "STATUSBOT_POLL_INTERVAL": "0.5"}
            release(env)
            proc = subprocess.Popen([sys.executable, "-c", UNPACED], env=env, stdout=subprocess.DEVNULL)
            try:
                await until(lambda: dc.connected and dc.commands(GUILD_ID) and page.requests, "start-up", 60)
                await asyncio.sleep(1.0)
                figures["start"] = rss_mib(proc.pid)
                peak = await resolve_many(page, tmp / "cmd.db", proc.pid, resolutions)
                await asyncio.sleep(2.0)
                figures["after"] = rss_mib(proc.pid)
                figures["worker_peak"] = peak
                await asyncio.sleep(CHART_IDLE + 3)
                figures["children_after_idle"] = len(children(proc.pid))
                figures["after_idle"] = rss_mib(proc.pid)
            finally:
                proc.terminate()
                proc.wait(timeout=15)
    return figures


async def resolve_many(page: FakeStatuspage, db: Path, pid: int, count: int) -> float:
    """`count` incidents open and resolve in batches; returns the chart worker's peak RSS seen."""
    start = datetime.now(UTC) - timedelta(hours=2)
    shown: list[dict[str, Any]] = []
    peak = 0.0
    for first in range(1, count + 1, BATCH):
        numbers = range(first, min(first + BATCH, count + 1))
        opened = [incident(n, start + timedelta(seconds=n), resolved=False) for n in numbers]
        page.serve(incidents=page_doc(shown + opened))
        await until(lambda: pending(db)[0] == 0 and page.requests, "the openings to be delivered")
        resolved = [incident(n, start + timedelta(seconds=n), resolved=True) for n in numbers]
        shown += resolved
        page.serve(incidents=page_doc(shown))
        target = 2 * (numbers[-1])  # a postmortem for each incident, in Slack and in Discord
        while pending(db)[1] < target:
            for child in children(pid):
                try:
                    peak = max(peak, rss_mib(child))
                except FileNotFoundError:  # the chart worker left meanwhile
                    continue
            await asyncio.sleep(0.1)
        print(f"  {numbers[-1]} incidents resolved, RSS {rss_mib(pid):.1f} MiB", flush=True)
    return peak


def median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} MiB" + (f" (runs: {', '.join(f'{v:.1f}' for v in values)})")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resolutions", type=int, default=RESOLUTIONS)
    args = parser.parse_args()
    console = [await console_only() for _ in range(args.runs)]
    print(f"RSS of `statusbot run` after start-up, console only: {median(console)}")
    runs = []
    for run in range(args.runs):
        print(f"run {run + 1}: Slack and Discord on, {args.resolutions} incidents to resolve", flush=True)
        runs.append(await both_chats(args.resolutions))
    print(f"RSS after start-up, Slack and Discord on: {median([r['start'] for r in runs])}")
    print(
        f"RSS after {args.resolutions} resolved incidents with postmortem charts: {median([r['after'] for r in runs])}"
    )
    print(f"... and {CHART_IDLE + 3:.0f} s later: {median([r['after_idle'] for r in runs])}")
    print(
        f"chart worker (a child process): peak {median([r['worker_peak'] for r in runs])}; "
        f"child processes left after {CHART_IDLE + 3:.0f} s idle: {max(r['children_after_idle'] for r in runs):.0f}"
    )


if __name__ == "__main__":
    asyncio.run(main())
