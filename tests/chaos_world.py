"""The chaos world of bench/chaos.py: `statusbot run` as its own process on one SQLite file, the
loopback Statuspage, Slack and Discord fakes in this process, faults injected into both chats, and
the count of what reached chat against what the recorded page said."""

from __future__ import annotations

import asyncio
import html
import os
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.chat.slack import manifest
from bot.demo.scenario import Scenario
from tests.conftest import load_json, shared_path
from tests.discord_world import CHANNEL_ID, fake_discord
from tests.fakes.discord_api import FakeDiscord
from tests.fakes.shared import SHARED
from tests.fakes.slack_api import FakeSlack
from tests.fakes.statuspage import FakeStatuspage
from tests.processes import BotProcess, wait_for
from tests.replicas_world import DISCORD_SPEC, chat_env
from tests.slack_world import CHANNEL

RESOLVED = ("resolved", "postmortem")
INCIDENTS_JSON = "/api/v2/incidents.json"
Document = tuple[dict[str, Any], dict[str, Any] | None]  # incidents.json, summary.json (None: unchanged)


@dataclass
class Stretch:
    """Documents served in order, and what chat should show: incident -> update id -> body."""

    name: str
    documents: list[Document]
    expected: dict[str, dict[str, str]]

    def describe(self) -> str:
        updates = sum(len(u) for u in self.expected.values())
        return f"{len(self.documents)} {self.name} ({len(self.expected)} incidents, {updates} updates)"


def expected_updates(listings: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    """From the raw JSON: every incident not resolved history at the first poll, with every update
    any snapshot showed of it."""
    baseline = {i["id"] for i in listings[0]["incidents"] if i["status"] in RESOLVED}
    expected: dict[str, dict[str, str]] = {}
    for listing in listings:
        for incident in listing["incidents"]:
            if incident["id"] not in baseline:
                updates = expected.setdefault(incident["id"], {})
                updates.update({u["id"]: u["body"] for u in incident.get("incident_updates") or []})
    return expected


def recorded_stretch() -> Stretch | None:
    """The 26 real status.claude.com snapshots, or None without ../shared."""
    if not SHARED.is_dir():
        return None
    folder = shared_path("anthropic", "incidents_json_snapshots")
    listings = [load_json(path) for path in sorted(folder.glob("*.json"))]
    return Stretch("real snapshots", [(doc, None) for doc in listings], expected_updates(listings))


def hand_written_stretch() -> Stretch:
    """The demo's outage (hand-written, shipped with the package), minute by minute."""
    scenario = Scenario.load(leave_open=True)
    docs = [scenario.documents(minute) for minute in (0, *scenario.moments())]
    pairs: list[Document] = [(d[INCIDENTS_JSON], d["/api/v2/summary.json"]) for d in docs]
    return Stretch("hand-written documents", pairs, expected_updates([p[0] for p in pairs]))


@dataclass
class Faults:
    counts: Counter[str] = field(default_factory=Counter)

    def describe(self) -> str:
        bursts = sum(n for kind, n in self.counts.items() if kind.endswith(("429", "500")))
        drops = sum(n for kind, n in self.counts.items() if kind.endswith("drop"))
        parts = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        return f"{bursts} 429/500 bursts and {drops} dropped answers ({parts})"


@dataclass
class ChaosWorld:
    slack: FakeSlack
    dc: FakeDiscord | None
    page: FakeStatuspage
    env: dict[str, str]
    folder: Path
    database: Path
    bot: BotProcess | None = None
    runs: int = 0
    kills: int = 0
    held: int = 0
    faults: Faults = field(default_factory=Faults)
    logs: list[str] = field(default_factory=list)  # each run's stderr
    stopped: int | None = None  # the last run's exit code on SIGTERM

    # -- the bot -------------------------------------------------------------------------------------

    def start(self) -> None:
        self.bot = BotProcess(self.env, self.folder / f"run{self.runs}.out")
        self.runs += 1

    def kill(self) -> None:
        assert self.bot is not None
        self.logs.append(self.bot.kill())
        self.bot, self.kills = None, self.kills + 1

    async def kill_while_holding(self, timeout: float) -> None:
        """Slack performs the bot's next post and holds its answer; the bot is killed while it waits."""
        held = self.slack.hold_answer_next("chat.postMessage")
        try:
            await asyncio.wait_for(held.arrived.wait(), timeout)
            self.held += 1
        except TimeoutError:
            pass  # nothing was posted meanwhile: a plain kill (the release below disarms the hold)
        self.kill()
        held.release()

    def stop(self) -> None:
        assert self.bot is not None
        self.stopped, err = self.bot.stop()
        self.logs.append(err)
        self.bot = None

    @property
    def tracebacks(self) -> int:
        return sum(log.count("Traceback") for log in self.logs)

    # -- the page ------------------------------------------------------------------------------------

    async def feed(self, stretch: Stretch, pace: float) -> None:
        """Each document stays up at least `pace` seconds, and until one process polled it twice
        (so a kill never makes the bot miss a snapshot the recorded page really showed)."""
        for incidents, summary in stretch.documents:
            self.page.serve(incidents=incidents, summary=summary)
            shown = time.monotonic()
            await self._polled_twice()
            await asyncio.sleep(max(0.0, pace - (time.monotonic() - shown)))

    async def _polled_twice(self) -> None:
        bot, seen = self.bot, self._polls()
        while self._polls() - seen < 2 or self.bot is not bot:
            if self.bot is not bot:  # killed meanwhile: count again, from the new process
                bot, seen = self.bot, self._polls()
            await asyncio.sleep(0.05)

    def _polls(self) -> int:
        return sum(path == INCIDENTS_JSON for path, _ in self.page.requests)

    # -- the chats' faults ---------------------------------------------------------------------------

    def burst(self, rng: random.Random) -> None:
        """One burst on a chat whose last burst is spent (faults queued faster than the bot calls
        would add up to an outage, not a burst)."""
        chats = ["slack", "discord"] if self.dc is not None else ["slack"]
        chat, kind, n = rng.choice(chats), rng.choice(("429", "500", "drop")), rng.randint(1, 4)
        fake = self.slack if chat == "slack" else self.dc
        if fake is None or fake.faults_pending:
            return
        if chat == "slack" and kind == "429":
            self.slack.ratelimit_next(n, retry_after=rng.randint(1, 2))
        elif chat == "slack" and kind == "500":
            self.slack.fail_next(n, status=500)
        elif chat == "slack":
            self.slack.drop_response_next(1)
        elif self.dc is not None and kind == "429":
            self.dc.ratelimit_next(n, retry_after=rng.uniform(0.2, 2.0), match="POST /channels/")
        elif self.dc is not None and kind == "500":
            self.dc.fail_next(n, status=500, match="POST /channels/")
        elif self.dc is not None:
            self.dc.drop_response_next(1, match="POST /channels/")
        self.faults.counts[f"{chat} {kind}"] += 1

    # -- the end -------------------------------------------------------------------------------------

    async def settle(self, limit: float) -> None:
        """Until the outbox is empty (every row delivered or given up), then a moment for stragglers."""
        await wait_for(lambda: self._undelivered() == 0, "the outbox to drain", limit)
        await asyncio.sleep(2.0)

    def _undelivered(self) -> int:
        pending = self.undelivered()
        return -1 if pending is None else len(pending)

    def undelivered(self, sink: str | None = None) -> set[int] | None:
        """The outbox rows not delivered yet (of one sink); None before the database is there."""
        query = "SELECT id FROM outbox WHERE delivered_at IS NULL" + (" AND sink = ?" if sink else "")
        try:
            with sqlite3.connect(self.database) as conn:
                return {int(row[0]) for row in conn.execute(query, (sink,) if sink else ())}
        except sqlite3.Error:  # not created yet, or mid-migration
            return None

    def count(self, stretch: Stretch) -> dict[str, Tally]:
        book = Book.read(self.database)
        found = {"slack": self._slack_threads()}
        if self.dc is not None:
            found["discord"] = self._discord_threads()
        return {chat: tally(threads, book, stretch) for chat, threads in found.items()}

    def _slack_threads(self) -> list[Thread]:
        def key(message: dict[str, Any]) -> str | None:
            payload = (message.get("metadata") or {}).get("event_payload") or {}
            return str(payload["key"]) if "key" in payload else None

        return [
            Thread(key(parent), [(key(r), r["text"] or "") for r in self.slack.thread(CHANNEL, parent["ts"])])
            for parent in self.slack.parents(CHANNEL)
        ]

    def _discord_threads(self) -> list[Thread]:
        assert self.dc is not None

        def key(data: dict[str, Any]) -> str | None:
            return str(data["nonce"]).split(".")[-1] if data.get("nonce") else None

        alerts = [m for m in self.dc.messages(CHANNEL_ID) if m.interaction_id is None]
        return [
            Thread(key(alert.data), [(key(r.data), _discord_text(r.data)) for r in self.dc.messages(alert.id)])
            for alert in alerts
        ]


def _discord_text(data: dict[str, Any]) -> str:
    parts = [data.get("content") or ""]
    for embed in data.get("embeds") or []:
        parts += [embed.get("title") or "", embed.get("description") or ""]
    return "\n".join(parts)


@dataclass
class Thread:
    """One parent in chat (its outbox key) and its replies (outbox key, text), oldest first."""

    key: str | None
    replies: list[tuple[str | None, str]]


@dataclass
class Book:
    """What the bot's database says each outbox key carried: the incident, and the real update."""

    incident_of_row: dict[str, int]
    update_of_row: dict[str, str | None]
    upstream: dict[int, str]

    @classmethod
    def read(cls, path: Path) -> Book:
        with sqlite3.connect(path) as conn:
            rows = conn.execute(
                "SELECT o.id, o.incident_id, e.upstream_id FROM outbox o"
                " LEFT JOIN timeline_entry e ON e.id = o.entry_id"
            ).fetchall()
            upstream = dict(conn.execute("SELECT id, upstream_id FROM incident").fetchall())
        return cls(
            {str(r[0]): int(r[1]) for r in rows},
            {str(r[0]): r[2] for r in rows},
            {int(k): str(v) for k, v in upstream.items()},
        )


@dataclass
class Tally:
    threads: int
    incidents: int
    right: int
    updates: int
    duplicates: int
    lost: int
    misplaced: int

    def __str__(self) -> str:
        return (
            f"{self.threads}/{self.incidents} threads, {self.right}/{self.updates} updates in the right thread, "
            f"{self.duplicates} duplicates, {self.lost} lost"
            + (f", {self.misplaced} in a wrong thread or with wrong text" if self.misplaced else "")
        )


def _words(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", html.unescape(text).lower())


def tally(threads: list[Thread], book: Book, stretch: Stretch) -> Tally:
    keys: Counter[str] = Counter()
    parents: Counter[str] = Counter()
    seen: Counter[tuple[str, str]] = Counter()  # (incident, update) in that incident's thread, right text
    elsewhere: set[tuple[str, str]] = set()
    for thread in threads:
        if thread.key is None or thread.key not in book.incident_of_row:
            continue
        keys[thread.key] += 1
        incident = book.upstream[book.incident_of_row[thread.key]]
        parents[incident] += 1
        for key, text in thread.replies:
            if key is None or key not in book.incident_of_row:
                continue
            keys[key] += 1
            update = book.update_of_row[key]
            if update is None or update not in stretch.expected.get(incident, {}):
                if update is not None and book.upstream[book.incident_of_row[key]] != incident:
                    elsewhere.add((book.upstream[book.incident_of_row[key]], update))
                continue
            if _words(stretch.expected[incident][update])[:40] in _words(text):
                seen[(incident, update)] += 1
            else:
                elsewhere.add((incident, update))
    want = {(i, u) for i, updates in stretch.expected.items() for u in updates}
    duplicates = sum(n - 1 for n in keys.values()) + sum(n - 1 for n in parents.values())
    duplicates += sum(n - 1 for n in seen.values())
    right = len(want & set(seen))
    misplaced = len((want & elsewhere) - set(seen))
    return Tally(
        threads=len(set(parents) & set(stretch.expected)),
        incidents=len(stretch.expected),
        right=right,
        updates=len(want),
        duplicates=duplicates,
        lost=len(want) - right - misplaced,
        misplaced=misplaced,
    )


async def kills(world: ChaosWorld, rng: random.Random, count: int) -> None:
    """`count` kills, each a seeded delay after the last (re)start: during start-up, mid-poll,
    mid-delivery; about one in three waits for a post whose answer Slack holds, and kills then."""
    for _ in range(count):
        held = rng.random() < 1 / 3
        await asyncio.sleep(rng.uniform(0.5, 6.0))
        if held:
            await world.kill_while_holding(timeout=15.0)
        else:
            world.kill()
        await asyncio.sleep(rng.uniform(0.0, 1.5))  # down for a moment, as a supervisor restarts it
        world.start()


async def bursts(world: ChaosWorld, rng: random.Random, until: asyncio.Event) -> None:
    """429 and 500 bursts and dropped answers on both chats, every 1 to 4 s."""
    while not until.is_set():
        world.burst(rng)
        await asyncio.sleep(rng.uniform(1.0, 4.0))


async def chaos(world: ChaosWorld, stretch: Stretch, kill_count: int, seed: int, pace: float) -> dict[str, Tally]:
    """The whole run: feed the stretch while bursts and kills happen, drain, stop, count."""
    rng = random.Random(seed)
    world.start()
    fed = asyncio.Event()
    noise = asyncio.create_task(bursts(world, random.Random(rng.random()), fed))
    killing = asyncio.create_task(kills(world, random.Random(rng.random()), kill_count))
    await world.feed(stretch, pace)
    await killing
    fed.set()
    await noise
    await world.settle(limit=300.0)
    counts = world.count(stretch)
    world.stop()
    return counts


@asynccontextmanager
async def chaos_world(folder: Path, slack_rate: float | None = None, **extra: str) -> AsyncIterator[ChaosWorld]:
    """Slack (and Discord where its spec is at hand, so the fake is strict), by default without
    pacing limits beyond the injected ones: the chaos run takes minutes, not the hour Slack's 1 post/s
    would. `slack_rate` (posts per second per channel) and `extra` settings put them back."""
    granted = manifest.load()["oauth_config"]["scopes"]["bot"]
    async with AsyncExitStack() as stack:
        slack = await stack.enter_async_context(FakeSlack(scopes=granted, post_rate_per_sec=slack_rate))
        dc = await stack.enter_async_context(fake_discord()) if DISCORD_SPEC else None
        page = await stack.enter_async_context(FakeStatuspage())
        database = folder / "bot.db"
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{database}",
            "STATUSPAGE_URL": page.base_url,
            "PORT": "0",
            "STATUSBOT_HOST": "127.0.0.1",
            "STATUSBOT_POLL_INTERVAL": "0.2",
            "STATUSBOT_OUTBOX_SWEEP": "0.5",
            "STATUSBOT_CONSOLE": "false",
            "STATUSBOT_POSTMORTEM_DIR": str(folder / "postmortems"),
            **chat_env(slack, dc),
            **extra,
        }
        world = ChaosWorld(slack, dc, page, env, folder, database)
        try:
            yield world
        finally:
            if world.bot is not None and world.bot.proc.poll() is None:
                world.kill()
