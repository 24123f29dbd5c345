"""Several `statusbot run` processes on one database, with loopback Slack, Discord and Statuspage
fakes in this process, and an incident storm replayed step by step. Shared by tests/test_replicas.py
and bench/failover.py."""

from __future__ import annotations

import os
import re
import signal
import socket
import time
import urllib.parse
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bot.chat.slack import manifest
from tests.discord_world import APP_ID, CHANNEL_ID, GUILD_ID, TOKEN, fake_discord
from tests.fakes.discord_api import DEFAULT_SPEC_PATH, FakeDiscord
from tests.fakes.slack_api import FakeSlack
from tests.fakes.statuspage import FakeStatuspage
from tests.processes import BotProcess, wait_for
from tests.slack_world import CHANNEL, SIGNING_SECRET, click_body, sign

WEBHOOK_SECRET = "storm-webhook-secret"
UPDATE = re.compile(r"storm (\d+) update (\d+)")
# The Discord fake is strict only with Discord's OpenAPI spec from ../shared; without it a world has Slack alone.
DISCORD_SPEC = DEFAULT_SPEC_PATH.is_file() or "DISCORD_OPENAPI_SPEC" in os.environ
NO_DISCORD_SPEC = (
    f"Discord's OpenAPI spec is not at {DEFAULT_SPEC_PATH} (../shared absent): the Discord half is not checked"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Storm:
    """`incidents` incidents, `updates` updates each, interleaved: step n adds one update."""

    incidents: int
    updates: int
    start: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5))

    @property
    def steps(self) -> int:
        return self.incidents * self.updates

    def expected(self, upto: int | None = None) -> dict[int, list[int]]:
        """Per incident, the update numbers served after `upto` steps, in order."""
        done: dict[int, list[int]] = {i: [] for i in range(self.incidents)}
        for n in range(self.steps if upto is None else upto):
            done[n % self.incidents].append(n // self.incidents)
        return {i: u for i, u in done.items() if u}

    def document(self, upto: int) -> dict[str, Any]:
        incidents = []
        for i, numbers in self.expected(upto).items():
            updates = [self._update(i, u) for u in numbers]
            incidents.append(
                {
                    "id": f"storm{i}",
                    "name": f"Storm incident {i}",
                    "status": "investigating",
                    "impact": "minor",
                    "created_at": _iso(self.start),
                    "started_at": _iso(self.start),
                    "resolved_at": None,
                    "shortlink": f"https://stspg.io/storm{i}",
                    "incident_updates": list(reversed(updates)),
                    "components": [],
                }
            )
        return {"page": {"id": "storm", "name": "Storm", "url": "https://status.example"}, "incidents": incidents}

    def _update(self, incident: int, number: int) -> dict[str, Any]:
        at = _iso(self.start + timedelta(seconds=10 * number))
        return {
            "id": f"storm{incident}u{number}",
            "status": "investigating",
            "body": f"storm {incident} update {number}",
            "created_at": at,
            "updated_at": at,
            "display_at": at,
            "affected_components": [],
        }


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class Replica:
    """One `statusbot run` with its own port; its log lines are kept in a file."""

    def __init__(self, env: dict[str, str], folder: Path, name: str) -> None:
        self.port = free_port()
        self.name = name
        self.log = folder / f"{name}.log"
        self.process = BotProcess({**env, "PORT": str(self.port)}, folder / f"{name}.out")
        self.stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def kill(self) -> None:
        self.log.write_text(self.process.kill())

    def pause(self) -> None:
        self.process.proc.send_signal(signal.SIGSTOP)
        self.stopped = True

    def resume(self) -> None:
        self.process.proc.send_signal(signal.SIGCONT)
        self.stopped = False

    def stop(self) -> tuple[int, str]:
        code, err = self.process.stop()
        self.log.write_text(err)
        return code, err

    @property
    def alive(self) -> bool:
        return self.process.proc.poll() is None


@dataclass
class ReplicaWorld:
    slack: FakeSlack
    dc: FakeDiscord | None  # None: a world with Slack alone
    page: FakeStatuspage
    storm: Storm
    env: dict[str, str]
    folder: Path
    http: httpx.AsyncClient
    replicas: list[Replica] = field(default_factory=list)
    served: int = 0

    def spawn(self, **env: str) -> Replica:
        """A new replica; `env` overrides the world's settings for it alone (its own DATABASE_URL)."""
        replica = Replica({**self.env, **env}, self.folder, f"replica{len(self.replicas)}")
        self.replicas.append(replica)
        return replica

    def serve(self, upto: int) -> None:
        self.served = upto
        self.page.serve(incidents=self.storm.document(upto))

    async def health(self, replica: Replica) -> dict[str, Any] | None:
        """The replica's /healthz report when it answers 200 (healthy), else None."""
        status, report = await self.healthz(replica)
        return report if status == 200 else None

    async def healthz(self, replica: Replica) -> tuple[int | None, dict[str, Any]]:
        """/healthz's status and report, healthy or not (None: no answer at all)."""
        try:
            answer = await self.http.get(f"{replica.url}/healthz", timeout=2)
        except httpx.HTTPError:
            return None, {}
        return answer.status_code, answer.json()

    async def metrics(self, replica: Replica) -> str:
        return (await self.http.get(f"{replica.url}/metrics", timeout=5)).text

    async def role(self, replica: Replica) -> str | None:
        report = await self.health(replica)
        return str(report["role"]) if report else None

    async def wait_role(self, replica: Replica, role: str, limit: float = 30.0) -> None:
        deadline = time.monotonic() + limit
        while await self.role(replica) != role:
            assert replica.alive, f"{replica.name} exited"
            assert time.monotonic() < deadline, f"{replica.name} did not become {role}"
            await _pause(0.05)

    async def leader(self, limit: float = 30.0) -> Replica:
        return await self._one_that_is("leader", limit)

    async def follower(self, limit: float = 30.0) -> Replica:
        return await self._one_that_is("follower", limit)

    async def _one_that_is(self, role: str, limit: float) -> Replica:
        deadline = time.monotonic() + limit
        while True:
            for replica in self.replicas:
                if replica.alive and not replica.stopped and await self.role(replica) == role:
                    return replica
            assert time.monotonic() < deadline, f"no replica is {role}"
            await _pause(0.05)

    async def slash(self, replica: Replica, text: str, user: str = "U0ALICE") -> httpx.Response:
        payload = self.slack.slash_command("/claude", text, user_id=user)
        body = urllib.parse.urlencode(payload)
        return await self.http.post(f"{replica.url}/slack/events", content=body, headers=sign(body), timeout=10)

    async def click(self, replica: Replica, action_id: str, incident_id: int) -> httpx.Response:
        body = click_body(action_id, incident_id)
        return await self.http.post(f"{replica.url}/slack/events", content=body, headers=sign(body), timeout=10)

    async def webhook(self, replica: Replica, incident: dict[str, Any]) -> httpx.Response:
        """Statuspage's webhook for `incident` (one of the storm document's), sent to `replica`."""
        payload = {"meta": {}, "page": {"id": "storm"}, "incident": incident}
        return await self.http.post(f"{replica.url}/webhooks/statuspage/{WEBHOOK_SECRET}", json=payload, timeout=10)

    # -- what arrived in chat ----------------------------------------------------------------------

    def slack_threads(self) -> dict[str, list[str]]:
        """Parent text -> the thread's reply texts, in order."""
        return {
            p["text"]: [m["text"] for m in self.slack.thread(CHANNEL, p["ts"])] for p in self.slack.parents(CHANNEL)
        }

    def slack_threads_flat(self) -> list[str]:
        return [reply for replies in self.slack_threads().values() for reply in replies]

    def discord_threads(self) -> dict[str, list[str]]:
        if self.dc is None:
            return {}
        alerts = [m for m in self.dc.messages(CHANNEL_ID) if m.interaction_id is None]
        return {_text(m.data): [_text(r.data) for r in self.dc.messages(m.id)] for m in alerts}

    def chats(self) -> dict[str, dict[str, list[str]]]:
        """Each chat this world has -> its threads."""
        found = {"slack": self.slack_threads()}
        if self.dc is not None:
            found["discord"] = self.discord_threads()
        return found

    def report(self) -> str:
        """What arrived against what was served, and the replicas' logs: for a failing assertion."""
        lines = [f"served {self.served} steps; want {self.storm.expected(self.served)}"]
        lines += [f"{name} {updates_by_incident(t, self.storm.incidents)}" for name, t in self.chats().items()]
        for replica in self.replicas:
            text = replica.log.read_text() if replica.log.exists() else "(running)"
            lines += [f"--- {replica.name}", text[-3000:]]
        return "\n".join(lines)

    def delivered(self) -> bool:
        want = self.storm.expected(self.served)
        return all(updates_by_incident(t, self.storm.incidents) == want for t in self.chats().values())


def _text(data: dict[str, Any]) -> str:
    parts = [data.get("content") or ""]
    for embed in data.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n".join(p for p in parts if p)


def updates_by_incident(threads: dict[str, list[str]], incidents: int) -> dict[int, list[int]]:
    """Per incident, the storm update numbers seen in its thread, in order (duplicates kept). A reply
    about another incident counts under the incident whose thread it is in, which the caller sees."""
    found: dict[int, list[int]] = {}
    for parent, replies in threads.items():
        match = re.search(r"Storm incident (\d+)", parent)
        if match is None:
            continue
        numbers = found.setdefault(int(match.group(1)), [])
        for reply in replies:
            for incident, number in UPDATE.findall(reply):
                numbers.append(int(number) if int(incident) == int(match.group(1)) else -1)
    return {i: n for i, n in found.items() if n}


def parents_by_incident(threads: dict[str, list[str]]) -> dict[int, int]:
    counts: dict[int, int] = {}
    for parent in threads:
        if match := re.search(r"Storm incident (\d+)", parent):
            counts[int(match.group(1))] = counts.get(int(match.group(1)), 0) + 1
    return counts


async def _pause(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def chat_env(slack: FakeSlack, dc: FakeDiscord | None) -> dict[str, str]:
    env = {
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_CHANNEL": CHANNEL,
        "SLACK_API_URL": slack.base_url,
        "SLACK_POST_INTERVAL": "0",
    }
    if dc is not None:
        env |= {
            "DISCORD_BOT_TOKEN": TOKEN,
            "DISCORD_CHANNEL_ID": str(CHANNEL_ID),
            "DISCORD_GUILD_ID": str(GUILD_ID),
            "DISCORD_API_URL": dc.api_base,
            "DISCORD_GATEWAY_URL": dc.gateway_url,
        }
    return env


@asynccontextmanager
async def replica_world(
    database_url: str, folder: Path, storm: Storm, discord: bool = True, **env: str
) -> AsyncIterator[ReplicaWorld]:
    """`discord=False`: Slack alone (where Discord's spec is absent, the fake cannot be strict)."""
    granted = manifest.load()["oauth_config"]["scopes"]["bot"]
    async with AsyncExitStack() as stack:
        slack = await stack.enter_async_context(FakeSlack(scopes=granted, post_rate_per_sec=None))
        dc = await stack.enter_async_context(fake_discord()) if discord else None
        page = await stack.enter_async_context(FakeStatuspage())
        http = await stack.enter_async_context(httpx.AsyncClient())
        base = {
            **os.environ,
            "DATABASE_URL": database_url,
            "STATUSPAGE_URL": page.base_url,
            "STATUSBOT_HOST": "127.0.0.1",
            "STATUSBOT_POLL_INTERVAL": "0.2",
            "STATUSBOT_OUTBOX_SWEEP": "0.5",
            "STATUSBOT_CONSOLE": "false",
            "STATUSBOT_LOG_LEVEL": "INFO",
            "STATUSBOT_POSTMORTEM_DIR": str(folder / "postmortems"),
            "STATUSBOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
            **chat_env(slack, dc),
            **env,
        }
        assert APP_ID
        world = ReplicaWorld(slack, dc, page, storm, base, folder, http)
        world.serve(0)
        try:
            yield world
        finally:
            for replica in world.replicas:
                if replica.alive:
                    if replica.stopped:
                        replica.resume()
                    replica.kill()


__all__ = [
    "DISCORD_SPEC",
    "NO_DISCORD_SPEC",
    "Replica",
    "ReplicaWorld",
    "Storm",
    "parents_by_incident",
    "replica_world",
    "updates_by_incident",
    "wait_for",
]
