"""RSS of `statusbot run` after start-up, and after its first poll of a 50-incident page."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import SHARED

from bot.demo.scenario import Scenario
from tests.fakes.statuspage import FakeStatuspage


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def page_document() -> dict[str, object]:
    snapshot = SHARED / "fixtures/anthropic/incidents_json_snapshots/2026-08-22T16-16-08Z.json"
    if snapshot.exists():
        return json.loads(snapshot.read_text())
    return Scenario.load().documents(200)["/api/v2/incidents.json"]  # type: ignore[return-value]


async def main() -> None:
    async with FakeStatuspage(incidents=page_document()) as page:
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                **os.environ,
                "DATABASE_URL": f"sqlite:///{tmp}/rss.db",
                "STATUSPAGE_URL": page.base_url,
                "PORT": "0",
                "STATUSBOT_HOST": "127.0.0.1",
                "STATUSBOT_CONSOLE": "true",
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
            started = time.monotonic()
            while not page.requests and time.monotonic() - started < 30:
                await asyncio.sleep(0.05)
            ready = time.monotonic() - started
            after_start = rss_kib(proc.pid)
            await asyncio.sleep(2.0)
            after_poll = rss_kib(proc.pid)
            proc.terminate()
            proc.wait(timeout=10)
    print(f"start-up to first poll: {ready:.2f} s")
    print(f"RSS after start-up:     {after_start / 1024:.1f} MiB")
    count = len(page_document()["incidents"])  # type: ignore[arg-type]
    print(f"RSS after first poll:   {after_poll / 1024:.1f} MiB (page of {count} incidents)")


if __name__ == "__main__":
    asyncio.run(main())
