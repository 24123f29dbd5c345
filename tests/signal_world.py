"""A bot serving the signal API on a loopback port, with a simulated clock, and helpers to post batches."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from bot.app import StatusBot
from bot.chat.console.sink import ConsoleSink
from bot.clock import ManualClock
from bot.config import Settings
from bot.store.models import TrafficRollup
from tests.probe_world import START

TOKEN = "sig-test-token-1"
MODEL = "claude-opus-4-5"


@dataclass
class SignalWorld:
    bot: StatusBot
    clock: ManualClock
    http: httpx.AsyncClient
    out: io.StringIO
    monotonic: float = 1000.0

    async def post(
        self, body: Any, token: str | None = TOKEN, path: str = "/signals/claude", **kw: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
        self.bot.signals.monotonic = lambda: self.monotonic
        if isinstance(body, bytes | str):
            return await self.http.post(path, content=body, headers={**headers, "Content-Type": "application/json"})
        return await self.http.post(path, json=body, headers=headers, **kw)

    def rollups(self) -> list[TrafficRollup]:
        with self.bot.db.session() as session:
            return list(session.exec(select(TrafficRollup).order_by(TrafficRollup.model, TrafficRollup.start)))

    def totals(self) -> dict[str, int]:
        rows = self.rollups()
        return {f: sum(getattr(r, f) for r in rows) for f in ("ok", "failures", "throttled", "caller")}


def call(at: datetime, status: int = 200, model: str = MODEL, **extra: Any) -> dict[str, Any]:
    return {"at": at.isoformat(), "model": model, "status": status, "latency_ms": 420.0, **extra}


def minute_of(moment: datetime) -> str:
    return moment.replace(second=0, microsecond=0).isoformat()


@asynccontextmanager
async def signal_world(tmp: Path, **extra: Any) -> AsyncIterator[SignalWorld]:
    clock = ManualClock(START + timedelta(seconds=30))
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp / 'signals.db'}",
        "console": True,
        "host": "127.0.0.1",
        "port": 0,
        "signals_token": TOKEN,
    }
    out = io.StringIO()
    bot = StatusBot(
        Settings(**{**values, **extra}),
        clock=clock,
        sinks={"console": ConsoleSink(out, colour=False, folder=tmp / "postmortems")},
    )
    bot.db.upgrade()
    await bot.start_http()
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot.http_port}", timeout=10) as http:
        yield SignalWorld(bot, clock, http, out)
    await bot.stop()
