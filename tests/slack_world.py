"""A bot wired to loopback Slack and Statuspage fakes, in simulated time, and signed Slack requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bot.app import StatusBot
from bot.chat.slack import manifest
from bot.clock import ManualClock
from bot.config import Settings
from bot.delivery.pacing import Pacer
from bot.demo.scenario import Scenario
from tests.fakes.slack_api import FakeSlack
from tests.fakes.statuspage import FakeStatuspage

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
CHANNEL = "C0INCIDENT"


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": "application/x-www-form-urlencoded",
    }


def click_body(action_id: str, incident_id: int, user: str = "U0ALICE") -> str:
    """A button click on an incident's card, as Slack posts it (form-encoded; sign it with `sign`)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "team_id": "T0FAKE"},
        "api_app_id": "A0APP",
        "token": "x",
        "trigger_id": "1.2.3",
        "team": {"id": "T0FAKE", "domain": "fake"},
        "channel": {"id": CHANNEL, "name": "incidents"},
        "container": {"type": "message", "message_ts": "1.0", "channel_id": CHANNEL, "is_ephemeral": False},
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"incident:{incident_id}",
                "value": str(incident_id),
                "type": "button",
                "action_ts": "1.1",
                "text": {"type": "plain_text", "text": "x"},
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


@dataclass
class SlackWorld:
    bot: StatusBot
    slack: FakeSlack
    page: FakeStatuspage
    clock: ManualClock
    http: httpx.AsyncClient

    async def poll(self) -> None:
        await self.bot.poller.poll()
        await self.drain()

    async def drain(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            await self.bot.worker.drain()

    def serve_minute(self, scenario: Scenario, minute: float) -> None:
        self.page.serve_scenario(scenario, minute)

    async def command(self, text: str, user: str = "U0ALICE", **headers: str) -> httpx.Response:
        payload = self.slack.slash_command(self.bot.settings.command, text, user_id=user)
        body = urllib.parse.urlencode(payload)
        return await self.http.post("/slack/events", content=body, headers={**sign(body), **headers})

    async def click(self, action_id: str, incident_id: int, user: str = "U0ALICE") -> httpx.Response:
        body = click_body(action_id, incident_id, user)
        answer = await self.http.post("/slack/events", content=body, headers=sign(body))
        await self.settle()  # the click's work runs after the ack
        return answer

    async def settle(self) -> None:
        """Wait for the work the Slack platform still runs after its ack (button work, late answers)."""
        await self.bot.platforms[0].settle()  # type: ignore[attr-defined]

    def parents(self) -> list[dict[str, Any]]:
        return self.slack.parents(CHANNEL)

    def replies(self, parent: dict[str, Any]) -> list[dict[str, Any]]:
        """The thread's messages, the postmortem file upload left out."""
        return [m for m in self.slack.thread(CHANNEL, parent["ts"]) if not m.get("files")]

    def files(self, parent: dict[str, Any]) -> list[str]:
        return [f["name"] for m in self.slack.thread(CHANNEL, parent["ts"]) for f in m.get("files") or []]


def slack_settings(tmp: Path, slack: FakeSlack, page: FakeStatuspage, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp / 'bot.db'}",
        "statuspage_url": page.base_url,
        "console": False,
        "port": 0,
        "host": "127.0.0.1",
        "http_timeout": 1.0,
        "slack_bot_token": slack.token,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_channel": CHANNEL,
        "slack_api_url": slack.base_url,
    }
    return Settings(**{**values, **extra})


@asynccontextmanager
async def slack_world(
    tmp: Path,
    start: datetime | None = None,
    fake: type[FakeSlack] = FakeSlack,
    channels: dict[str, Any] | None = None,
    **extra: Any,
) -> AsyncIterator[SlackWorld]:
    clock = ManualClock(start or datetime(2026, 4, 15, 14, 0, tzinfo=UTC))

    async def simulated_sleep(seconds: float) -> None:
        clock.advance(seconds)

    granted = manifest.load()["oauth_config"]["scopes"]["bot"]  # exactly what the committed manifest asks for
    async with (
        fake(
            clock=lambda: clock.now().timestamp(), usergroups={"S0RESP": ["U0CAROL"]}, scopes=granted, channels=channels
        ) as slack,
        FakeStatuspage() as page,
    ):
        bot = StatusBot(slack_settings(tmp, slack, page, **extra), clock=clock)
        bot.platforms[0].sink.pacer = Pacer(
            1.0,
            sleep=simulated_sleep,  # type: ignore[attr-defined]
            monotonic=lambda: clock.now().timestamp(),
        )
        bot.db.upgrade()
        await bot.start_http()
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{bot.http_port}", timeout=10) as http:
            yield SlackWorld(bot, slack, page, clock, http)
        await bot.stop()
