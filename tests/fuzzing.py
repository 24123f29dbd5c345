"""The project's fuzz targets: strategies and invariants shared by tests/test_fuzz.py (a bounded,
seeded run in CI) and bench/fuzz.py (≥ 10,000 examples per target, figures printed).

A `FuzzWorld` is the real bot on a real SQLite file with its real aiohttp app on a loopback port,
wired to the strict Slack fake and a loopback Statuspage, running on an event loop in a thread of
its own, so hypothesis drives it with plain synchronous tests. Each target is one more entry: a
strategy of inputs and a `check` that returns the problems one input caused, counted by kind:

- escaped: an exception left our code, or an error (with a traceback) was logged;
- 5xx: an HTTP route answered a server error;
- spurious: garbage opened, closed or posted something, or changed stored data it was refused for;
- mentions: something sent to Slack, or rendered for Discord, could ping the channel.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import hmac
import json
import logging
import re
import tempfile
import threading
import urllib.parse
from collections import Counter
from collections.abc import Callable, Coroutine
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlmodel import select

from bot.chat.discord import render as discord_render
from bot.chat.slack.platform import message
from bot.commands.context import CommandContext
from bot.commands.dispatch import dispatch
from bot.demo.scenario import Scenario
from bot.engine.events import Actor
from bot.engine.views import card, entry_view
from bot.inputs import BadInput, read_json
from bot.sources.statuspage.parse import ParseError, parse_summary, parse_webhook, read_incidents
from bot.store.limits import INT4_MAX, INT4_MIN, storable
from bot.store.models import Incident, TimelineEntry
from tests.conftest import FIXTURES, SECRET, SHARED
from tests.slack_world import SIGNING_SECRET, SlackWorld, sign, slack_world

T = TypeVar("T")
SIGNALS_TOKEN = "fuzz-signals-token"
SLACK_PING = re.compile(r"<!(?:channel|here|everyone)\b")
DISCORD_PING = re.compile(r"@(?:everyone|here)")  # ours are written @\u200beveryone
HOSTILE = (
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!channel|channel>",
    "@everyone",
    "@here",
    "<@U0ALICE>",
    "<!subteam^S0RESP>",
    "<https://evil.invalid|click>",
    "&lt;!channel&gt;",
    "\ud800",
    "\udfff",
    "\x00",
    "`",
    "```",
    "*",
    "~",
    "|",
    ">",
    "\u202e",
    "\n",
    "ﬀ",
    "²",
)
LIMITS = (2**31, 2**31 - 1, -(2**31) - 1, 2**63, -(2**63), 2**64, 10**30, 1e30, -1e30, 1e308, 0.5)


def slack_ping(message: Any) -> str | None:
    """A channel-wide mention in what Slack would parse: the top-level `text`, `initial_comment` and
    every mrkdwn text object in `blocks` (plain_text is shown as typed, never parsed for mentions)."""
    if isinstance(message, str):
        try:
            message = json.loads(message)
        except ValueError:
            return None
    if not isinstance(message, dict):
        return None
    parsed = [message.get("text"), message.get("initial_comment")]
    parsed += _mrkdwn(message.get("blocks"))
    for text_ in parsed:
        if isinstance(text_, str) and (found := SLACK_PING.search(text_)):
            return found.group()
    return None


def _mrkdwn(node: Any) -> list[Any]:
    if isinstance(node, str):
        try:
            node = json.loads(node)  # the client sends blocks as a JSON string
        except ValueError:
            return []
    if hasattr(node, "to_dict"):
        node = node.to_dict()
    if isinstance(node, list):
        return [t for item in node for t in _mrkdwn(item)]
    if isinstance(node, dict):
        own = [node.get("text")] if node.get("type") == "mrkdwn" else []
        return own + [t for key, value in node.items() if key != "text" or own == [] for t in _mrkdwn(value)]
    return []


# ------------------------------------------------------------------------------------------ strategies
def hostile_text(max_size: int = 8) -> st.SearchStrategy[str]:
    return st.lists(st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12)), max_size=max_size).map("".join)


JUNK: st.SearchStrategy[Any] = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from(LIMITS),
        st.floats(allow_nan=False, allow_infinity=False),
        hostile_text(),
        st.text(max_size=20),
        st.sampled_from(["", "2026-13-45T99:99:99Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+14:00"]),
    ),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
OPERATIONS = ("replace", "delete", "drop", "duplicate", "hostile", "nest", "empty")


@st.composite
def garbled(draw: st.DrawFn, document: Any, max_changes: int = 3) -> Any:
    """A copy of `document` with 1 to `max_changes` changes at random places: values of the wrong type
    or out of range, keys deleted, list items dropped or duplicated, hostile strings, deep nesting."""
    tree = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, max_changes))):
        parent, key = _walk(draw, tree)
        if parent is None:
            return draw(JUNK)
        _change(draw, parent, key)
    return tree


def _walk(draw: st.DrawFn, tree: Any) -> tuple[Any, Any]:
    """A random (container, key) inside `tree`; (None, None) means the root itself."""
    parent, key, node = None, None, tree
    while isinstance(node, dict | list) and node and (parent is None or draw(st.integers(0, 3)) > 0):
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        parent, key = node, draw(st.sampled_from(keys))
        node = node[key]
    return parent, key


def _change(draw: st.DrawFn, parent: Any, key: Any) -> None:
    operation = draw(st.sampled_from(OPERATIONS))
    value = parent[key]
    if operation == "delete":
        del parent[key]
    elif operation == "drop" and isinstance(value, list) and value:
        del value[draw(st.integers(0, len(value) - 1))]
    elif operation == "duplicate" and isinstance(value, list) and value:
        value.append(copy.deepcopy(value[draw(st.integers(0, len(value) - 1))]))
    elif operation == "hostile" and isinstance(value, str):
        parent[key] = draw(hostile_text())
    elif operation == "nest":
        depth = draw(st.sampled_from([33, 200]))  # deeper still is done on the bytes (garbled_bytes)
        parent[key] = json.loads("[" * depth + "]" * depth)
    elif operation == "empty":
        parent[key] = type(value)() if isinstance(value, dict | list | str) else None
    else:
        parent[key] = draw(JUNK)


@st.composite
def garbled_bytes(draw: st.DrawFn, document: Any) -> bytes:
    """`garbled(document)` serialised, sometimes broken further at the byte level."""
    tree = draw(garbled(document))
    try:
        raw = json.dumps(tree).encode()
    except (RecursionError, ValueError):
        raw = b"[" * 5000
    cut = draw(st.sampled_from(["keep", "keep", "truncate", "splice", "bytes", "deep"]))
    if cut == "truncate" and raw:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif cut == "splice":
        at = draw(st.integers(0, len(raw)))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=8)) + raw[at:]
    elif cut == "bytes":
        raw = draw(st.binary(max_size=64))
    elif cut == "deep":
        depth = draw(st.sampled_from([1000, 100_000]))
        raw = b'{"incident": ' + b"[" * depth + raw + b"]" * depth + b"}"
    return raw


# ---------------------------------------------------------------------------------------- real inputs
def real_documents() -> dict[str, Any]:
    """The recorded status.claude.com documents and webhooks where ../shared is present; the
    hand-written demo scenario always (so the suite runs without ../shared)."""
    docs = Scenario.load().documents(20)
    found = {"incidents": [docs["/api/v2/incidents.json"]], "summary": [docs["/api/v2/summary.json"]], "webhook": []}
    fixtures = SHARED / "fixtures"
    snapshots = sorted((fixtures / "anthropic" / "incidents_json_snapshots").glob("*.json"))
    found["incidents"] += [json.loads(p.read_text()) for p in snapshots[-3:]]
    found["summary"] += [json.loads(p.read_text()) for p in (fixtures / "anthropic").glob("summary_and_maint*/*.json")]
    found["webhook"] += [json.loads(p.read_text()) for p in sorted((fixtures / "statuspage_webhooks").glob("*.json"))]
    return found


# ------------------------------------------------------------------------------------------ the world
class LoopThread:
    """An event loop in a thread of its own: the bot and the fakes live there; tests submit work."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="fuzz-loop", daemon=True)
        self.thread.start()

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


class ErrorLog(logging.Handler):
    """Every record logged at ERROR or with a traceback: each one is a bug a fuzz input exposed."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.records.append(f"{record.name}: {record.getMessage()[:300]}")


@dataclass
class FuzzWorld:
    loop: LoopThread
    slack: SlackWorld
    context: AbstractAsyncContextManager[SlackWorld]
    errors: ErrorLog
    documents: dict[str, Any]
    baseline: dict[str, Any] = field(default_factory=dict)  # the good incidents.json + summary.json served

    @classmethod
    def start(cls, folder: Path | None = None) -> FuzzWorld:
        loop = LoopThread()
        tmp = folder or Path(tempfile.mkdtemp(prefix="statusbot-fuzz-"))
        context = slack_world(tmp, webhook_secret=SECRET, signals_token=SIGNALS_TOKEN, alertmanager_secret=SECRET)
        world = cls(loop, loop.run(context.__aenter__()), context, ErrorLog(), real_documents())
        logging.getLogger().addHandler(world.errors)
        loop.run(world._seed())
        return world

    async def _seed(self) -> None:
        """A watched page with an open incident (and the recorded webhooks' incidents), delivered."""
        docs = Scenario.load().documents(20)
        self.baseline = {"incidents": docs["/api/v2/incidents.json"], "summary": docs["/api/v2/summary.json"]}
        await self.poll(self.baseline["incidents"], self.baseline["summary"])
        for payload in self.documents["webhook"]:
            await self.slack.http.post(f"/webhooks/statuspage/{SECRET}", json=payload)
        await self.slack.drain(2)

    async def poll(self, incidents: Any, summary: Any) -> None:
        self.slack.page.serve(incidents=incidents, summary=summary)
        self.slack.clock.advance(15 * 60)  # past any backoff a failed poll set
        await self.slack.bot.poller.poll()
        await self.slack.drain(2)

    def close(self) -> None:
        logging.getLogger().removeHandler(self.errors)
        self.loop.run(self.context.__aexit__(None, None, None))
        self.loop.close()

    # -- what the invariants look at --------------------------------------------------------------
    def stored(self) -> tuple[Any, ...]:
        """Every incident, timeline entry and component as stored."""
        with self.slack.bot.db.session() as session:
            conn = session.connection()
            return tuple(
                tuple(tuple(row) for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1, 2")))
                for table in ("incident", "timeline_entry", "component_state")
            )

    def open_set(self) -> dict[str, bool]:
        with self.slack.bot.db.session() as session:
            return {str(i.upstream_id or i.id): i.is_open for i in session.exec(select(Incident))}

    def posts(self) -> int:
        return len(self.slack.slack.calls)

    def pings_since(self, start: int) -> list[str]:
        """Pings in what reached Slack after call `start`, and in the Discord rendering of every incident."""
        found = []
        for call in self.slack.slack.calls[start:]:
            if call.method.startswith(("chat.", "files.")) and (ping := slack_ping(call.args)):
                found.append(f"slack {call.method}: {ping}")
        found += [f"slack response_url: {ping}" for r in self.slack.slack.responses if (ping := slack_ping(r))]
        self.slack.slack.responses.clear()
        return found + self.discord_pings()

    def discord_pings(self) -> list[str]:
        found = []
        with self.slack.bot.db.session() as session:
            now = self.slack.clock.now()
            for incident in session.exec(select(Incident)):
                view = card(incident)
                embeds = [discord_render.card_embed(view, now)]
                entries = session.exec(select(TimelineEntry).where(TimelineEntry.incident_id == incident.id))
                embeds += [discord_render.entry_embed(view, entry_view(e)) for e in entries]
                found += [f"discord embed of #{incident.id}" for e in embeds if DISCORD_PING.search(str(e.to_dict()))]
        return found


# ------------------------------------------------------------------------------------------- targets
@dataclass
class Target:
    """One fuzz target: a strategy and a check; `figures` counts examples and problems by kind."""

    name: str
    strategy: st.SearchStrategy[Any]
    check: Callable[[Any], Counter[str]]
    figures: Counter[str] = field(default_factory=Counter)
    first: dict[str, str] = field(default_factory=dict)  # the first input of each problem kind, for the report

    def run_one(self, example: Any) -> Counter[str]:
        try:
            problems = self.check(example)
        except Exception as exc:  # the harness's own view: anything raised is an escaped exception
            problems = Counter({f"escaped: {type(exc).__name__}: {str(exc)[:200]}": 1})
        self.figures["examples"] += 1
        for kind in problems:
            self.figures[kind.split(":")[0]] += 1
            self.first.setdefault(kind.split(":")[0], f"{kind} ← {str(example)[:300]!r}")
        return problems


def drive(target: Target, examples: int, seed_value: int, strict: bool) -> None:
    """Run `target` over `examples` generated inputs. `strict` (the tests): the first problem fails,
    shrunk to a small input; otherwise (the bench) every problem is counted and the run goes on."""
    phases = (Phase.generate, Phase.shrink) if strict else (Phase.generate,)

    @seed(seed_value)
    @settings(
        max_examples=examples, database=None, deadline=None, phases=phases, suppress_health_check=list(HealthCheck)
    )
    @given(target.strategy)
    def one(example: Any) -> None:
        problems = target.run_one(example)
        assert not (strict and problems), f"{target.name}: {dict(problems)}"

    one()


def _errors_since(world: FuzzWorld, start: int) -> Counter[str]:
    return Counter(f"escaped: logged {line}" for line in world.errors.records[start:])


def parser_target(world: FuzzWorld) -> Target:
    """The Statuspage parsers and the JSON reader, on garbled real and hand-written documents."""
    docs = world.documents
    strategy = st.one_of(
        st.tuples(st.just("incidents"), st.sampled_from(docs["incidents"]).flatmap(garbled_bytes)),
        st.tuples(st.just("summary"), st.sampled_from(docs["summary"]).flatmap(garbled_bytes)),
        st.tuples(st.just("webhook"), st.sampled_from(docs["webhook"] or docs["incidents"]).flatmap(garbled_bytes)),
    )

    def check(example: tuple[str, bytes]) -> Counter[str]:
        kind, raw = example
        try:
            tree = read_json(raw, kind)
            if kind == "incidents":
                events = read_incidents(tree, "claude").events
            elif kind == "summary":
                snapshot = parse_summary(tree, "claude")
                events = snapshot.maintenances or ()
                if any(
                    not INT4_MIN <= c.position <= INT4_MAX or c.name != storable(c.name) for c in snapshot.components
                ):
                    return Counter({"spurious: an unstorable component": 1})
            else:
                event = parse_webhook(tree, "claude")
                events = (event,) if not hasattr(event, "component_id") else ()
        except (BadInput, ParseError):
            return Counter()
        return Counter(_unstorable(e) for e in events if _unstorable(e))  # type: ignore[arg-type]

    return Target("parsers", strategy, check)


def _unstorable(event: Any) -> str:
    texts = [event.upstream_id, event.title, event.status, event.impact, *(u.body for u in event.updates)]
    if any(t != storable(t) for t in texts):
        return "spurious: unstorable text"
    if len({u.upstream_id for u in event.updates}) != len(event.updates):
        return "spurious: the same update twice"
    times = [event.started_at, *(u.at for u in event.updates)]
    if any(t.tzinfo is None or not 1990 <= t.year <= 2200 for t in times):
        return "spurious: a time out of range"
    return ""


def poll_target(world: FuzzWorld) -> Target:
    """A garbled page polled over HTTP, then the good page again: nothing opens, closes or posts."""
    good = world.baseline
    strategy = st.one_of(
        st.tuples(garbled(good["incidents"]), st.just(good["summary"])),
        st.tuples(st.just(good["incidents"]), garbled(good["summary"])),
    )

    def check(example: tuple[Any, Any]) -> Counter[str]:
        return world.loop.run(_poll_once(world, *example))

    return Target("poll", strategy, check)


async def _poll_once(world: FuzzWorld, incidents: Any, summary: Any) -> Counter[str]:
    errors, calls, before = len(world.errors.records), world.posts(), world.open_set()
    entries = len(world.stored()[1])
    try:
        await world.poll(incidents, summary)
    except Exception as exc:
        return Counter({f"escaped: {type(exc).__name__}: {exc}"[:200]: 1})
    problems = _errors_since(world, errors)
    if world.open_set() != before:
        problems["spurious: an incident opened or closed"] += 1
    if len(world.stored()[1]) != entries:
        problems["spurious: a timeline entry written"] += 1
    posted = [c for c in world.slack.slack.calls[calls:] if c.method == "chat.postMessage"]
    if posted:
        problems["spurious: a message posted"] += 1
    problems.update(Counter(f"mentions: {p}" for p in world.pings_since(calls)))
    await world.poll(world.baseline["incidents"], world.baseline["summary"])  # the page is good again
    return problems


def route_target(
    world: FuzzWorld,
    name: str,
    path: str,
    bodies: st.SearchStrategy[bytes],
    headers: Callable[[bytes], dict[str, str]] = lambda body: {"Content-Type": "application/json"},
    keeps_data: bool = True,
    opens_nothing: bool = True,
) -> Target:
    """One HTTP route of the real aiohttp app: garbage never gets a 5xx; (`keeps_data`) a refused
    request changes nothing stored; (`opens_nothing`) no request opens or closes an incident, where
    every valid input the strategy makes leaves them as they are. A new route is one more call."""

    def check(body: bytes) -> Counter[str]:
        return world.loop.run(_request(world, path, body, headers(body), keeps_data, opens_nothing))

    return Target(name, bodies, check)


async def _request(
    world: FuzzWorld, path: str, body: bytes, headers: dict[str, str], keeps_data: bool, opens_nothing: bool
) -> Counter[str]:
    errors, calls, before = len(world.errors.records), world.posts(), world.stored()
    opened = world.open_set()
    try:
        answer = await world.slack.http.post(path, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return Counter({f"5xx: no answer ({type(exc).__name__})": 1})
    for platform in world.slack.bot.platforms:
        await platform.settle()  # type: ignore[attr-defined]
    await world.slack.drain(2)
    problems = _errors_since(world, errors)
    if answer.status_code >= 500:
        problems[f"5xx: {answer.status_code} {answer.text[:100]}"] += 1
    elif answer.status_code >= 400 and keeps_data and world.stored() != before:
        problems[f"spurious: a refused request ({answer.status_code}) changed stored data"] += 1
    if keeps_data and opens_nothing and _changed(opened, world.open_set(), body):
        problems["spurious: an incident opened or closed"] += 1
    problems.update(Counter(f"mentions: {p}" for p in world.pings_since(calls)))
    return problems


def _changed(before: dict[str, bool], after: dict[str, bool], body: bytes) -> bool:
    """An incident opened or closed, other than the one a valid payload names for the first time
    (a garbled id makes a well-formed webhook about an incident never seen: that one may open)."""
    try:
        named = storable(json.loads(body)["incident"]["id"])
    except (ValueError, KeyError, TypeError, RecursionError):
        named = None
    fresh = {key for key in after if key not in before}
    return {k: v for k, v in after.items() if k not in fresh} != before or fresh - {named} != set()


def webhook_target(world: FuzzWorld) -> Target:
    """`POST /webhooks/statuspage/<secret>` with garbled recorded (and hand-written) webhook payloads,
    and valid ones whose vendor text is hostile (a new update in an open incident's thread)."""
    good = world.baseline["incidents"]["incidents"]
    payloads = [*world.documents["webhook"], *({"meta": {}, "page": {}, "incident": i} for i in good)]
    is_open = [i for i in good if i["status"] not in ("resolved", "postmortem")]
    bodies = st.one_of(
        st.sampled_from(payloads).flatmap(garbled_bytes),
        st.builds(_hostile_update, st.sampled_from(is_open), hostile_text(), hostile_text(), st.integers(0, 2**40)),
    )
    return route_target(world, "webhook", f"/webhooks/statuspage/{SECRET}", bodies)


def _hostile_update(incident: dict[str, Any], name: str, body: str, n: int) -> bytes:
    """The incident as it stands, renamed, with one new update (same status, later than the rest)."""
    newer = copy.deepcopy(incident)
    latest = max(u["created_at"] for u in newer["incident_updates"])
    update = {"id": f"fuzz{n:x}", "status": newer["status"], "body": body, "created_at": latest}
    newer["name"], newer["incident_updates"] = name or "x", [update, *newer["incident_updates"]]
    return json.dumps({"meta": {}, "page": {}, "incident": newer}).encode()


def slack_events_target(world: FuzzWorld) -> Target:
    """`POST /slack/events`, correctly signed: slash commands with arbitrary text and fields, button
    payloads garbled, and bytes. (Unsigned requests are refused with 401 before any parsing.)"""
    command = world.slack.slack.slash_command("/claude", "status")
    forms = st.one_of(
        st.fixed_dictionaries({"text": command_text()}).map(lambda extra: {**command, **extra}),
        garbled(command).map(lambda f: f if isinstance(f, dict) else {"x": f}),
        garbled(_button_payload()).map(lambda p: {"payload": json.dumps(p)}),
    )
    bodies = st.one_of(forms.map(_form), st.binary(max_size=200))
    return route_target(world, "slack-events", "/slack/events", bodies, _signed, keeps_data=False)


def _form(fields: dict[str, Any]) -> bytes:
    return urllib.parse.urlencode(
        {str(k): json.dumps(v) if not isinstance(v, str) else v for k, v in fields.items()}, errors="surrogatepass"
    ).encode()


def _signed(body: bytes) -> dict[str, str]:
    """Slack's v0 signature over the raw bytes (which need not be UTF-8)."""
    headers = sign("")
    ts = headers["X-Slack-Request-Timestamp"]
    digest = hmac.new(SIGNING_SECRET.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {**headers, "X-Slack-Signature": f"v0={digest}"}


def _button_payload() -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": "U0ALICE", "username": "alice", "team_id": "T0FAKE"},
        "api_app_id": "A0APP",
        "channel": {"id": "C0INCIDENT", "name": "incidents"},
        "container": {"type": "message", "message_ts": "1.0", "channel_id": "C0INCIDENT"},
        "actions": [{"action_id": "incident_ack", "block_id": "incident:1", "value": "1", "type": "button"}],
    }


def command_text() -> st.SearchStrategy[str]:
    words = st.sampled_from(["ack", "resolve", "show", "snooze", "postmortem", "stats", "status", "help", "incidents"])
    args = st.one_of(
        hostile_text(4),
        st.sampled_from(["²", "٣", "#", "##1", "-1", "0", "1e3", "9" * 30, str(2**31), "#99999999999999999999"]),
        st.integers().map(str),
    )
    return st.one_of(
        st.text(max_size=60), st.tuples(words, st.lists(args, max_size=3)).map(lambda t: " ".join([t[0], *t[1]]))
    )


def command_target(world: FuzzWorld) -> Target:
    """The chat-agnostic command parser and dispatcher with arbitrary text; each answer rendered for
    Slack and Discord as the platforms would send it."""
    actor = Actor(name="mallory", id="U0MALLORY", platform="slack")

    async def run(text_: str) -> Counter[str]:
        errors, before = len(world.errors.records), world.stored()
        answer = await dispatch(text_, CommandContext(actor), world.slack.bot.services)
        problems = _errors_since(world, errors)
        if not answer.ok and world.stored() != before:
            problems["spurious: a refused command changed stored data"] += 1
        if slack_ping(message(answer)):
            problems["mentions: in the Slack answer"] += 1
        if DISCORD_PING.search(str(discord_render.answer_embed(answer).to_dict())):
            problems["mentions: in the Discord answer"] += 1
        return problems

    return Target("commands", command_text(), lambda text_: world.loop.run(run(text_)))


def alertmanager_target(world: FuzzWorld) -> Target:
    """`POST /alertmanager/<secret>` with garbled Alertmanager v4 notifications (a valid one may open
    or resolve an incident: that is what alerts do; a refused one changes nothing)."""
    firing = json.loads((FIXTURES / "alertmanager" / "firing.json").read_text())
    bodies = st.sampled_from([firing]).flatmap(garbled_bytes)
    return route_target(world, "alertmanager", f"/alertmanager/{SECRET}", bodies, opens_nothing=False)


def signals_target(world: FuzzWorld) -> Target:
    """`POST /signals/<service>` with garbled batches (raw calls, and counts per minute), with the token."""
    at = world.slack.clock.now().isoformat()
    batch = {"source": "app", "calls": [{"at": at, "model": "claude-opus-4-5", "status": 529, "latency_ms": 420.0}] * 3}
    minute = world.slack.clock.now().replace(second=0, microsecond=0).isoformat()
    count = {"minute": minute, "model": "claude-opus-4-5", "ok": 10, "errors": {"overloaded_error": 2}, "p95_ms": 900.0}
    counts = {"sender": "pod-1", "source": "app", "counts": [count, {**count, "model": "claude-haiku-4-5"}]}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {SIGNALS_TOKEN}"}
    bodies = st.sampled_from([batch, counts]).flatmap(garbled_bytes)
    return route_target(world, "signals", "/signals/claude", bodies, lambda body: headers, opens_nothing=False)


TARGETS: dict[str, Callable[[FuzzWorld], Target]] = {
    "parsers": parser_target,
    "poll": poll_target,
    "webhook": webhook_target,
    "slack-events": slack_events_target,
    "commands": command_target,
    "alertmanager": alertmanager_target,
    "signals": signals_target,
}
