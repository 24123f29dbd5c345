"""Time to process the 26 real recorded status.claude.com snapshots through the whole pipeline:
loopback page -> poller -> parser -> engine -> SQLite + outbox -> console (to a buffer)."""

from __future__ import annotations

import asyncio
import io
import json
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _common import SHARED, ms, percentile

from bot.app import StatusBot
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock, parse_time
from bot.config import Settings
from tests.fakes.statuspage import FakeStatuspage


async def replay(
    docs: list[dict],  # type: ignore[type-arg]
    drafts: bool,
    database_url: str | None = None,
) -> tuple[float, list[float], list[str], int]:
    """`database_url`: another engine (PostgreSQL) instead of a SQLite file (then the size is 0)."""
    with tempfile.TemporaryDirectory() as tmp:
        async with FakeStatuspage() as page:
            out = io.StringIO()
            clock = ManualClock(parse_time(docs[0]["page"]["updated_at"]))  # type: ignore[arg-type]
            settings = Settings(
                database_url=database_url or f"sqlite:///{tmp}/bench.db",
                statuspage_url=page.base_url,  # type: ignore[arg-type]
                console=True,
            )
            bot = StatusBot(
                settings, clock=clock, sinks={"console": ConsoleSink(out, colour=False, folder=Path(tmp) / "pm")}
            )
            bot.db.upgrade()
            bot.poller.catchup = timedelta(days=365)  # the bot ran all along; the archive sampled the page
            if not drafts:
                bot.worker.drafts = None
            per_poll = []
            started = time.perf_counter()
            for doc in docs:
                page.serve(incidents=doc)
                clock.set(parse_time(doc["page"]["updated_at"]))  # type: ignore[arg-type]
                t0 = time.perf_counter()
                await bot.poller.poll()
                await bot.worker.drain()
                per_poll.append(time.perf_counter() - t0)
            total = time.perf_counter() - started
            await bot.stop()
            size = sum(f.stat().st_size for f in Path(tmp).glob("bench.db*"))
    return total, per_poll, out.getvalue().splitlines(), size


def snapshots() -> list[dict]:  # type: ignore[type-arg]
    folder = SHARED / "fixtures" / "anthropic" / "incidents_json_snapshots"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


async def main() -> None:
    docs = snapshots()
    if not docs:
        print("no snapshots in ../shared/fixtures/anthropic/incidents_json_snapshots: this benchmark needs ../shared")
        return
    total, per_poll, lines, size = await replay(docs, drafts=False)
    with_drafts, _, drafted, _ = await replay(docs, drafts=True)
    threads = sum(x.startswith("● ") for x in lines)
    print(f"snapshots processed:   {len(docs)} ({sum(len(d['incidents']) for d in docs)} incident records)")
    print(f"total time:            {total:.2f} s (poll + parse + apply + deliver to console)")
    print(
        f"per poll:              p50 {ms(percentile(per_poll, 50))}, p99 {ms(percentile(per_poll, 99))},"
        f" max {ms(max(per_poll))}"
    )
    print(f"threads / lines:       {threads} threads, {len(lines)} console lines")
    print(f"database size:         {size / 1024:.0f} KiB (with WAL)")
    drafts = sum(x.startswith("📝") for x in drafted)
    print(
        f"with postmortem drafts: {with_drafts:.2f} s in all, {drafts} drafts + charts "
        f"(~{ms((with_drafts - total) / max(1, drafts))} each)"
    )


if __name__ == "__main__":
    asyncio.run(main())
