"""Small helpers shared by the bench scripts."""

from __future__ import annotations

import asyncio
import socket
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from tests.fakes import shared  # noqa: E402

SHARED = shared.SHARED  # ../shared beside the repository, or STATUSBOT_SHARED_DIR


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_healthy(http: httpx.AsyncClient, seconds: float = 10.0) -> None:
    for _ in range(int(seconds / 0.05)):
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError("the bot did not come up")


def percentile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


INCIDENTS, UPDATES = 50, 1000


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def chat_environment(tmp: Path, page: Any, slack: Any, dc: Any) -> dict[str, str]:
    """`statusbot run` against the loopback fakes, with Slack (HTTP mode) and Discord (bot) both on."""
    import os

    from tests.discord_world import CHANNEL_ID, GUILD_ID, TOKEN
    from tests.slack_world import CHANNEL, SIGNING_SECRET

    return {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp}/cmd.db",
        "STATUSPAGE_URL": page.base_url,
        "PORT": "0",
        "STATUSBOT_HOST": "127.0.0.1",
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CHANNEL": CHANNEL,
        "SLACK_API_URL": slack.base_url,
        "DISCORD_BOT_TOKEN": TOKEN,
        "DISCORD_CHANNEL_ID": str(CHANNEL_ID),
        "DISCORD_GUILD_ID": str(GUILD_ID),
        "DISCORD_API_URL": dc.api_base,
        "DISCORD_GATEWAY_URL": dc.gateway_url,
    }


def burst_events() -> list[Any]:
    """1,000 updates across 50 incidents, each event the incident's whole view so far."""
    from bot.engine.events import IncidentObserved, UpdateObserved

    now = datetime.now(UTC)
    per = UPDATES // INCIDENTS
    return [
        IncidentObserved(
            service="claude",
            source="statuspage",
            upstream_id=f"inc{i}",
            title=f"Incident {i}",
            status="investigating",
            impact="minor",
            started_at=now,
            updates=tuple(UpdateObserved(f"inc{i}u{u}", "investigating", f"update {u}", now) for u in range(n + 1)),
        )
        for i in range(INCIDENTS)
        for n in range(per)
    ]


async def one_at_a_time(engine: Any, received: dict[str, float], count: int = 200) -> list[float]:
    """Commit one update, wait until the fake has it, repeat: latency without any queue."""
    from bot.engine.events import IncidentObserved, UpdateObserved

    now = datetime.now(UTC)
    lags = []
    for n in range(count):
        before = len(received)
        committed = time.time()
        engine.apply_incident(
            IncidentObserved(
                service="claude",
                source="statuspage",
                upstream_id="inc0",
                title="Incident 0",
                status="investigating",
                impact="minor",
                started_at=now,
                updates=(UpdateObserved(f"single{n}", "investigating", f"single {n}", now),),
            )
        )
        while len(received) == before:
            await asyncio.sleep(0)
        lags.append(max(received.values()) - committed)
    return lags
