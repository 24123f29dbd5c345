"""A strict loopback fake of Slack's Web API for tests.

``FakeSlack`` is an aiohttp server on 127.0.0.1 that answers the way slack.com/api/ does, so the bot's real
``slack_sdk`` ``AsyncWebClient(base_url=fake.base_url)`` can be driven into it.  Which methods exist and
which arguments they require come from Slack's OpenAPI spec (``/work/shared/specs/slack_web_openapi_v2.json``,
a 2021 spec) when it is present, else from the built-in table below; the newer files.*External methods are
added to either.  Behaviour follows Slack's documentation; where Slack's behaviour is undocumented the fake
says so.

Introspection: ``calls``, ``messages(channel)``, ``thread(channel, parent_ts)``, ``parents(channel)``,
``ephemerals``, ``uploads``, ``responses``.  Fault knobs: ``fail_next``, ``ratelimit_next``,
``drop_response_next``, ``outage``, ``revoke_token``.

Socket Mode: ``apps.connections.open`` (app-level ``xapp-`` token in the Authorization header only) hands out
a one-time ``ws://127.0.0.1:PORT/socket-mode?ticket=...`` URL; the WebSocket there greets with ``hello``.
Tests push envelopes with ``await socket_send(type, payload)`` (returns the ack's payload, raises
TimeoutError after Slack's 3 s ack deadline) and refresh connections with ``await socket_disconnect()``.
Introspection: ``socket_connections``, ``socket_connects``, ``socket_envelopes``, ``socket_acks``,
``socket_errors`` (every protocol slip the client made; a well-behaved client leaves it empty).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import copy
import itertools
import json
import math
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NamedTuple

from aiohttp import WSCloseCode, WSMsgType, web

from tests.fakes.shared import spec

# ../shared beside the repository (as in CI); without it the built-in method table below is used.
DEFAULT_SPEC_PATH = spec("slack_web_openapi_v2.json")
DEFAULT_SCOPES = ("chat:write", "commands", "channels:read", "groups:read", "channels:history", "files:write")
DEFAULT_CHANNELS: Mapping[str, Mapping[str, Any]] = {"C0INCIDENT": {"name": "incidents", "member": True}}

TEAM_ID = "T0FAKE"
TEAM_NAME = "Fake Workspace"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0APP"
HUMAN_USER_ID = "U0HUMAN"

DEFAULT_APP_TOKEN = "xapp-test-token"
DEFAULT_APP_SCOPES = ("connections:write",)
# Methods called with the app-level token; every other method refuses it with not_allowed_token_type.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})
# Socket Mode envelope types and whether Slack lets the ack carry a response payload for them.
SOCKET_ENVELOPE_TYPES: Mapping[str, bool] = {"slash_commands": True, "interactive": True, "events_api": False}
SOCKET_ACK_DEADLINE = 3.0  # seconds; past it Slack shows the user a timeout (or retries an event)
RESPONSE_URL_USES = 5  # "use a response_url up to five times within 30 minutes"

MAX_TEXT = 40_000  # chat.postMessage: "truncate messages containing more than 40,000 characters"
MAX_BLOCKS = 50  # "up to 50 blocks in each message"
KNOWN_BLOCK_TYPES = frozenset(
    {
        "actions",
        "call",
        "context",
        "divider",
        "file",
        "header",
        "image",
        "input",
        "markdown",
        "rich_text",
        "section",
        "table",
        "video",
    }
)
# Retired methods answer method_deprecated (changelog 2021-02-24, files.upload sunset 2025-11-12).
DEPRECATED_METHODS = frozenset({"files.upload"})
DEPRECATED_PREFIXES = ("channels.", "groups.", "im.", "mpim.")

_CHANNEL_SCOPES = {
    "conversations.history": ("channels:history", "groups:history"),
    "conversations.replies": ("channels:history", "groups:history"),
    "conversations.info": ("channels:read", "groups:read"),
}
_LEGACY_SCOPES = {
    "chat:write:bot": "chat:write",
    "chat:write:user": "chat:write",
    "files:write:user": "files:write",
}


# --------------------------------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class MethodSpec:
    """What the fake knows of one Web API method."""

    name: str
    required: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()  # any one of them suffices
    json_ok: bool = False  # whether the method reads a JSON body


# Modern bot scopes and the arguments Slack requires in practice (the 2021 spec marks e.g.
# conversations.history's `channel` optional, yet Slack answers channel_not_found without it).
BUILTIN_METHODS: dict[str, MethodSpec] = {
    spec.name: spec
    for spec in (
        MethodSpec("chat.postMessage", ("channel",), ("chat:write",), True),
        MethodSpec("chat.update", ("channel", "ts"), ("chat:write",), True),
        MethodSpec("chat.postEphemeral", ("channel", "user"), ("chat:write",), True),
        MethodSpec("chat.getPermalink", ("channel", "message_ts")),
        MethodSpec("conversations.history", ("channel",), _CHANNEL_SCOPES["conversations.history"]),
        MethodSpec("conversations.replies", ("channel", "ts"), _CHANNEL_SCOPES["conversations.replies"]),
        MethodSpec("conversations.info", ("channel",), _CHANNEL_SCOPES["conversations.info"]),
        MethodSpec("auth.test", (), (), True),
        MethodSpec("apps.connections.open", (), ("connections:write",)),
        MethodSpec("files.getUploadURLExternal", ("filename", "length"), ("files:write",)),
        MethodSpec("files.completeUploadExternal", ("files",), ("files:write",)),
        MethodSpec("users.info", ("user",), ("users:read",)),
        MethodSpec("usergroups.users.list", ("usergroup",), ("usergroups:read",)),
    )
}


def load_methods(spec_path: Path | str | None = DEFAULT_SPEC_PATH) -> dict[str, MethodSpec]:
    """Every method of the OpenAPI spec (if readable) overlaid with the built-in table."""
    methods: dict[str, MethodSpec] = {}
    if spec_path is not None and Path(spec_path).is_file():
        paths = json.loads(Path(spec_path).read_text(encoding="utf-8")).get("paths", {})
        methods = {name.lstrip("/"): _spec_from_openapi(name.lstrip("/"), ops) for name, ops in paths.items()}
    for name, builtin in BUILTIN_METHODS.items():
        spec_required = methods[name].required if name in methods else ()
        required = tuple(dict.fromkeys(builtin.required + spec_required))
        methods[name] = MethodSpec(name, required, builtin.scopes, builtin.json_ok)
    return methods


def _spec_from_openapi(name: str, ops: Mapping[str, Any]) -> MethodSpec:
    op = next(iter(ops.values()))
    params = op.get("parameters", [])
    required = tuple(p["name"] for p in params if p.get("required") and p.get("name") != "token")
    raw_scopes = [s for sec in op.get("security", []) for s in sec.get("slackAuth", [])]
    scopes = tuple(dict.fromkeys(_LEGACY_SCOPES.get(s, s) for s in raw_scopes if s != "none"))
    return MethodSpec(name, required, scopes, "application/json" in op.get("consumes", []))


# ---------------------------------------------------------------------------------------------------- errors
class SlackError(Exception):
    """An ``{"ok": false, "error": ...}`` answer, with its HTTP status and extra fields."""

    def __init__(
        self, error: str, *, status: int = 200, headers: Mapping[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.headers = dict(headers or {})
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}


def _invalid_arguments(*messages: str) -> SlackError:
    return SlackError("invalid_arguments", response_metadata={"messages": [f"[ERROR] {m}" for m in messages]})


# ------------------------------------------------------------------------------------------------ Block Kit
def validate_blocks(blocks: list[Any]) -> list[str]:
    """Slack-style error strings (``... [json-pointer:/blocks/0/text/text]``) for a message's blocks."""
    errors = _too_many(blocks, MAX_BLOCKS, "/blocks")
    seen_ids: set[str] = set()
    for i, block in enumerate(blocks):
        errors += _validate_block(block, f"/blocks/{i}", seen_ids)
    return errors


def _too_long(value: Any, limit: int, ptr: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [f"must be less than {limit + 1} characters [json-pointer:{ptr}]"]
    return []


def _too_many(items: Any, limit: int, ptr: str, minimum: int = 0) -> list[str]:
    if not isinstance(items, list):
        return [f"must be an array [json-pointer:{ptr}]"]
    if len(items) > limit:
        return [f"no more than {limit} items allowed [json-pointer:{ptr}]"]
    if len(items) < minimum:
        return [f"must provide at least {minimum} items [json-pointer:{ptr}]"]
    return []


def _text_object(obj: Any, ptr: str, limit: int, plain_only: bool = False) -> list[str]:
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if not isinstance(obj, dict):
        return [f"must be a text object [json-pointer:{ptr}]"]
    if obj.get("type") not in allowed:
        return [f"must be one of {', '.join(allowed)} [json-pointer:{ptr}/type]"]
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{ptr}/text]"]
    return _too_long(text, limit, f"{ptr}/text")


def _validate_block(block: Any, ptr: str, seen_ids: set[str]) -> list[str]:
    if not isinstance(block, dict):
        return [f"must be an object [json-pointer:{ptr}]"]
    kind = block.get("type")
    if kind not in KNOWN_BLOCK_TYPES:
        return [f"unsupported type: {kind} [json-pointer:{ptr}/type]"]
    errors = _block_id_errors(block.get("block_id"), ptr, seen_ids)
    checker = _BLOCK_CHECKS.get(kind)
    return errors + (checker(block, ptr) if checker else [])


def _block_id_errors(block_id: Any, ptr: str, seen_ids: set[str]) -> list[str]:
    if block_id is None:
        return []
    if not isinstance(block_id, str) or not block_id:
        return [f"must be a non-empty string [json-pointer:{ptr}/block_id]"]
    if block_id in seen_ids:  # docs: "block_id should be unique for each message"
        return [f"duplicate block_id: {block_id} [json-pointer:{ptr}/block_id]"]
    seen_ids.add(block_id)
    return _too_long(block_id, 255, f"{ptr}/block_id")


def _section(block: dict[str, Any], ptr: str) -> list[str]:
    if "text" not in block and "fields" not in block:
        return [f"must define either `text` or `fields` [json-pointer:{ptr}]"]
    errors = _text_object(block["text"], f"{ptr}/text", 3000) if "text" in block else []
    fields = block.get("fields")
    if fields is not None:
        errors += _too_many(fields, 10, f"{ptr}/fields", minimum=1)
        for i, item in enumerate(fields if isinstance(fields, list) else []):
            errors += _text_object(item, f"{ptr}/fields/{i}", 2000)
    if "accessory" in block:
        errors += _element(block["accessory"], f"{ptr}/accessory")
    return errors


def _header(block: dict[str, Any], ptr: str) -> list[str]:
    return _text_object(block.get("text"), f"{ptr}/text", 150, plain_only=True)


def _actions(block: dict[str, Any], ptr: str) -> list[str]:
    elements = block.get("elements")
    errors = _too_many(elements, 25, f"{ptr}/elements", minimum=1)
    action_ids: set[str] = set()
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        errors += _element(element, f"{ptr}/elements/{i}")
        action_id = element.get("action_id") if isinstance(element, dict) else None
        if action_id is not None and action_id in action_ids:
            errors.append(f"duplicate action_id: {action_id} [json-pointer:{ptr}/elements/{i}/action_id]")
        action_ids.add(action_id)
    return errors


def _context(block: dict[str, Any], ptr: str) -> list[str]:
    elements = block.get("elements")
    errors = _too_many(elements, 10, f"{ptr}/elements", minimum=1)
    for i, element in enumerate(elements if isinstance(elements, list) else []):
        sub = f"{ptr}/elements/{i}"
        is_image = isinstance(element, dict) and element.get("type") == "image"
        errors += _image_fields(element, sub) if is_image else _text_object(element, sub, 3000)
    return errors


def _image(block: dict[str, Any], ptr: str) -> list[str]:
    errors = _image_fields(block, ptr)
    if "title" in block:
        errors += _text_object(block["title"], f"{ptr}/title", 2000, plain_only=True)
    return errors


def _image_fields(obj: dict[str, Any], ptr: str) -> list[str]:
    if "image_url" not in obj and "slack_file" not in obj:
        return [f"must provide either image_url or slack_file [json-pointer:{ptr}]"]
    alt = obj.get("alt_text")
    if not isinstance(alt, str) or not alt:
        return [f"must be more than 0 characters [json-pointer:{ptr}/alt_text]"]
    return _too_long(alt, 2000, f"{ptr}/alt_text") + _too_long(obj.get("image_url"), 3000, f"{ptr}/image_url")


def _markdown(block: dict[str, Any], ptr: str) -> list[str]:
    text = block.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{ptr}/text]"]
    return _too_long(text, 12_000, f"{ptr}/text")


def _rich_text(block: dict[str, Any], ptr: str) -> list[str]:
    return _too_many(block.get("elements"), 10_000, f"{ptr}/elements")


def _element(element: Any, ptr: str) -> list[str]:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        return [f"must be a block element [json-pointer:{ptr}]"]
    if element["type"] == "image":
        return _image_fields(element, ptr)
    errors = _too_long(element.get("action_id"), 255, f"{ptr}/action_id")
    if element["type"] == "button":
        errors += _text_object(element.get("text"), f"{ptr}/text", 75, plain_only=True)
        errors += _too_long(element.get("value"), 2000, f"{ptr}/value")
        errors += _too_long(element.get("url"), 3000, f"{ptr}/url")
        if element.get("style") not in (None, "primary", "danger"):
            errors.append(f"must be one of primary, danger [json-pointer:{ptr}/style]")
    return errors


_BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "section": _section,
    "header": _header,
    "actions": _actions,
    "context": _context,
    "image": _image,
    "markdown": _markdown,
    "rich_text": _rich_text,
}


# -------------------------------------------------------------------------------------------------- storage
class Call(NamedTuple):
    """One recorded API call. ``status`` 0 means the connection was aborted without an answer."""

    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any] | str | None


@dataclass
class _Message:
    channel: str
    ts: str
    text: str
    user: str
    bot_id: str | None = None
    blocks: list[dict[str, Any]] | None = None
    attachments: list[Any] | None = None
    metadata: dict[str, Any] | None = None
    thread_ts: str | None = None
    reply_broadcast: bool = False
    orphaned: bool = False  # thread_ts named no parent: Slack answers ok but the message is not shown
    files: list[dict[str, Any]] | None = None
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class _Content:
    text: str | None
    blocks: list[dict[str, Any]] | None
    attachments: list[Any] | None
    metadata: dict[str, Any] | None


@dataclass
class _Bucket:
    tokens: float
    stamp: float


@dataclass(frozen=True)
class _Fault:
    kind: str  # "fail" | "ratelimit" | "drop"
    method: str | None = None  # only calls of this method spend it
    status: int = 500
    retry_after: int = 1
    perform: bool = False
    body: str = "html"


@dataclass
class Held:
    """A call the fake has performed and whose answer it holds back until `release()`: the request
    is in Slack (its effect is visible to every later call), the caller is still waiting."""

    method: str
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


@dataclass
class _Request:
    args: dict[str, Any]
    token: str | None
    warnings: list[str]
    http_method: str = "POST"
    token_in_body: bool = False  # the token came as a form field, not in the Authorization header


@dataclass
class _SocketConn:
    ws: web.WebSocketResponse
    host: str
    closed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class _Envelope:
    frame: dict[str, Any]
    future: asyncio.Future[dict[str, Any] | None]
    expired: bool = False


_TS_RE = re.compile(r"^\d+(\.\d+)?$")
_HTML_ERROR = (
    "<!DOCTYPE html><html><head><title>Slack</title></head><body><h1>{status}</h1>"
    "<p>Slack is having trouble right now. Please try again.</p></body></html>"
)


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true")


def _decimal_ts(value: Any, error: str) -> Decimal:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise SlackError(error) from None


def _json_arg(value: Any, error: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        raise SlackError(error) from None


# ------------------------------------------------------------------------------------------------ the fake
class FakeSlack:
    """Loopback fake of https://slack.com/api/ (see module docstring)."""

    def __init__(
        self,
        token: str = "xoxb-test-token",
        channels: Mapping[str, Mapping[str, Any]] | None = None,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        clock: Callable[[], float] = time.time,
        *,
        post_rate_per_sec: float | None = 1.0,
        post_burst: int = 3,
        users: Mapping[str, Mapping[str, Any]] | None = None,
        usergroups: Mapping[str, list[str]] | None = None,
        spec_path: Path | str | None = DEFAULT_SPEC_PATH,
        app_token: str = DEFAULT_APP_TOKEN,
        app_scopes: Iterable[str] = DEFAULT_APP_SCOPES,
    ) -> None:
        self.token = token
        self.app_token = app_token
        self.app_scopes = list(app_scopes)
        self.channels = copy.deepcopy(dict(DEFAULT_CHANNELS if channels is None else channels))
        self.scopes = list(scopes)
        self.clock = clock
        self.post_rate_per_sec = post_rate_per_sec
        self.post_burst = post_burst
        self.users = copy.deepcopy(dict(users or {}))
        self.usergroups = copy.deepcopy(dict(usergroups or {}))
        self.methods = load_methods(spec_path)
        self.calls: list[Call] = []
        self.ephemerals: list[dict[str, Any]] = []
        self.uploads: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[_Message]] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._faults: deque[_Fault] = deque()
        self._holds: dict[str, deque[Held]] = {}
        self._revoked: dict[str, str] = {}
        self._outage = False
        self._outage_status = 503
        self._last_micros = 0
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._root = ""
        self.responses: list[dict[str, Any]] = []  # bodies POSTed to response_urls, in arrival order
        self._hooks: dict[str, int] = {}  # issued response_url path -> uses so far
        # Socket Mode state
        self.socket_connects = 0  # WebSocket connections ever accepted
        self.socket_envelopes: list[dict[str, Any]] = []
        self.socket_acks: list[dict[str, Any]] = []
        self.socket_errors: list[str] = []
        self._tickets: set[str] = set()
        self._sockets: list[_SocketConn] = []
        self._socket_opened = asyncio.Event()
        self._envelopes: dict[str, _Envelope] = {}
        self._handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "conversations.info": self._conversations_info,
            "auth.test": self._auth_test,
            "apps.connections.open": self._apps_connections_open,
            "users.info": self._users_info,
            "usergroups.users.list": self._usergroups_users_list,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
        }

    # -------------------------------------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        app.router.add_post("/upload/v1/{file_id}", self._handle_upload)
        app.router.add_get("/socket-mode", self._handle_socket)
        app.router.add_post("/hooks/{path:.+}", self._handle_hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self._root = f"http://{host}:{port}"

    async def stop(self) -> None:
        for conn in list(self._sockets):
            await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=b"fake stopped")
        for envelope in self._envelopes.values():
            if not envelope.future.done():
                envelope.future.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if not self._root:
            raise RuntimeError("FakeSlack is not started")
        return f"{self._root}/api/"

    # ---------------------------------------------------------------------------------------- fault knobs
    def fail_next(self, n: int = 1, status: int = 500, *, body: str = "html", perform: bool = False) -> None:
        """Answer the next n calls with HTTP `status` (HTML body, or JSON ``fatal_error`` if body="json").

        With ``perform=True`` the call takes effect first (Slack sometimes posts, then answers 5xx)."""
        self._faults.extend(_Fault("fail", status=status, perform=perform, body=body) for _ in range(n))

    def ratelimit_next(self, n: int = 1, retry_after: int = 1, method: str | None = None) -> None:
        """Answer the next n calls (of `method` only, if given) with 429 ``ratelimited`` and
        ``Retry-After: retry_after``."""
        fault = _Fault("ratelimit", status=429, retry_after=retry_after, method=method)
        self._faults.extend(fault for _ in range(n))

    def drop_response_next(self, n: int = 1) -> None:
        """Perform the next n calls, then abort the connection without answering (the lost answer)."""
        self._faults.extend(_Fault("drop", perform=True) for _ in range(n))

    @property
    def faults_pending(self) -> int:
        """Injected faults (fail, ratelimit, drop) not yet spent on a call."""
        return len(self._faults)

    def hold_answer_next(self, method: str) -> Held:
        """Perform the next call of `method` (e.g. "chat.postMessage"), then hold its answer until the
        returned `Held` is released: a caller paused mid-request, or an answer slow to come back."""
        held = Held(method)
        self._holds.setdefault(method, deque()).append(held)
        return held

    def outage(self, on: bool = True, status: int = 503) -> None:
        """While on, every call answers `status` (an HTML error page) and does nothing."""
        self._outage, self._outage_status = on, status

    def revoke_token(self, error: str = "invalid_auth", *, app: bool = False) -> None:
        """Make the current bot token (or, with ``app=True``, the app-level token) fail with `error`
        (real Slack says ``token_revoked`` for a revoked one)."""
        self._revoked[self.app_token if app else self.token] = error

    # ----------------------------------------------------------------------------------- test-side helpers
    def set_member(self, channel: str, member: bool = True) -> None:
        self.channels[channel]["member"] = member

    def add_message(self, channel: str, text: str, user: str = HUMAN_USER_ID, thread_ts: str | None = None) -> str:
        """Store a message as if a person had posted it; returns its ts."""
        msg = _Message(channel, self._next_ts(), text, user, thread_ts=thread_ts)
        self._messages.setdefault(channel, []).append(msg)
        return msg.ts

    # -------------------------------------------------------------------------------------- introspection
    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Every stored message of `channel` in post order (replies and orphans included)."""
        return [self._snapshot(m) for m in self._messages.get(channel, [])]

    def thread(self, channel: str, parent_ts: str) -> list[dict[str, Any]]:
        """The visible replies to `parent_ts`, oldest first."""
        return [self._snapshot(m) for m in self._replies(channel, parent_ts)]

    def parents(self, channel: str) -> list[dict[str, Any]]:
        """Visible top-level messages of `channel` in post order."""
        return [self._snapshot(m) for m in self._messages.get(channel, []) if self._is_parent(m)]

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    @staticmethod
    def _snapshot(msg: _Message) -> dict[str, Any]:
        return {
            "channel": msg.channel,
            "ts": msg.ts,
            "thread_ts": msg.thread_ts,
            "text": msg.text,
            "blocks": copy.deepcopy(msg.blocks),
            "attachments": copy.deepcopy(msg.attachments),
            "metadata": copy.deepcopy(msg.metadata),
            "reply_broadcast": msg.reply_broadcast,
            "user": msg.user,
            "bot_id": msg.bot_id,
            "orphaned": msg.orphaned,
            "files": copy.deepcopy(msg.files),
            "edits": copy.deepcopy(msg.edits),
        }

    # ---------------------------------------------------------------------------------------- Socket Mode
    @property
    def socket_connections(self) -> int:
        """Open Socket Mode WebSocket connections right now."""
        return len(self._live_sockets())

    async def socket_send(
        self,
        envelope_type: str,
        payload: Mapping[str, Any],
        accepts_response_payload: bool | None = None,
        *,
        timeout: float = SOCKET_ACK_DEADLINE,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> dict[str, Any] | None:
        """Deliver one envelope over Socket Mode and wait for the client's ack.

        Returns the ack's ``payload`` (None when the ack carried none, or carried one on an envelope that does
        not accept it, which Slack ignores).  ``accepts_response_payload`` defaults to what Slack sends for the
        type (true for slash_commands and interactive, false for events_api).  Waits up to `timeout` for an open
        connection (the newest one is used), then up to `timeout` for the ack; raises TimeoutError otherwise."""
        if envelope_type not in SOCKET_ENVELOPE_TYPES:
            raise ValueError(f"envelope type must be one of {', '.join(SOCKET_ENVELOPE_TYPES)}: {envelope_type!r}")
        accepts = SOCKET_ENVELOPE_TYPES[envelope_type] if accepts_response_payload is None else accepts_response_payload
        conn = await self._wait_for_socket(timeout)
        frame: dict[str, Any] = {
            "envelope_id": str(uuid.uuid4()),
            "payload": copy.deepcopy(dict(payload)),
            "type": envelope_type,
            "accepts_response_payload": accepts,
        }
        if envelope_type == "events_api":
            frame |= {"retry_attempt": retry_attempt, "retry_reason": retry_reason}
        envelope = _Envelope(frame, asyncio.get_running_loop().create_future())
        self._envelopes[frame["envelope_id"]] = envelope
        self.socket_envelopes.append(copy.deepcopy(frame))
        await conn.ws.send_json(frame)
        try:
            async with asyncio.timeout(timeout):
                return await envelope.future
        except TimeoutError:
            envelope.expired = True
            raise TimeoutError(
                f"no ack for {envelope_type} envelope {frame['envelope_id']} within {timeout:g}s"
            ) from None

    async def socket_disconnect(self, reason: str = "refresh_requested", *, close_after: float = 1.0) -> int:
        """Send ``{"type": "disconnect", "reason": reason}`` on every open connection, then close each one the
        client has not closed itself within `close_after` seconds.  Returns how many were disconnected."""
        conns = self._live_sockets()
        for conn in conns:
            await conn.ws.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": conn.host}})
        for conn in conns:
            try:
                async with asyncio.timeout(close_after):
                    await conn.closed.wait()
            except TimeoutError:
                await conn.ws.close(code=WSCloseCode.GOING_AWAY, message=reason.encode())
                await conn.closed.wait()
        return len(conns)

    def slash_command(
        self, command: str, text: str = "", *, channel_id: str | None = None, user_id: str = HUMAN_USER_ID
    ) -> dict[str, Any]:
        """A slash_commands payload as Slack sends it (every value a string); its response_url is on the fake."""
        channel_id = channel_id or next(iter(self.channels), "C0INCIDENT")
        info = self.channels.get(channel_id, {})
        n = next(self._ids)
        return {
            "token": "fakeVerificationToken0000",
            "team_id": TEAM_ID,
            "team_domain": "fake-workspace",
            "channel_id": channel_id,
            "channel_name": str(info.get("name", channel_id.lower())),
            "user_id": user_id,
            "user_name": str(self.users.get(user_id, {}).get("name", user_id.lower())),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._issue_hook(f"commands/{TEAM_ID}/{n}"),
            "trigger_id": f"{n}.{n}.{uuid.uuid4().hex}",
        }

    def _issue_hook(self, prefix: str) -> str:
        path = f"{prefix}/{uuid.uuid4().hex[:24]}"
        self._hooks[path] = 0
        return f"{self._root}/hooks/{path}"

    def _live_sockets(self) -> list[_SocketConn]:
        return [c for c in self._sockets if not c.ws.closed]

    async def _wait_for_socket(self, timeout: float) -> _SocketConn:
        try:
            async with asyncio.timeout(timeout):
                while not self._live_sockets():
                    self._socket_opened.clear()
                    await self._socket_opened.wait()
        except TimeoutError:
            raise TimeoutError(f"no Socket Mode connection within {timeout:g}s") from None
        return self._live_sockets()[-1]

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(timeout=2.0)  # autoping answers the SDK's "sdk-ping-pong:<t>" pings
        if not ws.can_prepare(request).ok:
            return web.Response(status=400, text="WebSocket upgrade required", content_type="text/plain")
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:  # URLs are one-time: a used or made-up ticket is refused
            self.socket_errors.append(f"connection refused: ticket {ticket!r} was not issued or is used up")
            return web.Response(status=401, text="invalid ticket", content_type="text/plain")
        self._tickets.discard(ticket)
        await ws.prepare(request)
        self.socket_connects += 1
        conn = _SocketConn(ws, host=f"applink-fake-{self.socket_connects}")
        self._sockets.append(conn)
        self._socket_opened.set()
        try:
            await ws.send_json(
                {
                    "type": "hello",
                    "num_connections": len(self._live_sockets()),
                    "debug_info": {"host": conn.host, "build_number": 1, "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    self._on_socket_frame(msg.data)
                else:
                    self.socket_errors.append(f"unexpected {msg.type.name} frame from the client")
        finally:
            self._sockets.remove(conn)
            conn.closed.set()
        return ws

    def _on_socket_frame(self, raw: str) -> None:
        """The client's only frames are acks: ``{"envelope_id": ..., "payload": {...}}`` (payload optional)."""
        try:
            frame = json.loads(raw)
        except ValueError:
            self.socket_errors.append(f"frame is not JSON: {raw[:200]!r}")
            return
        if not isinstance(frame, dict) or not isinstance(frame.get("envelope_id"), str):
            self.socket_errors.append(f"frame is not an ack (no envelope_id): {raw[:200]!r}")
            return
        self.socket_acks.append(frame)
        eid = frame["envelope_id"]
        extra = sorted(set(frame) - {"envelope_id", "payload"})
        if extra:
            self.socket_errors.append(f"ack {eid} has unknown fields {extra}")
        envelope = self._envelopes.get(eid)
        if envelope is None:
            self.socket_errors.append(f"ack for unknown envelope {eid}")
            return
        if envelope.expired:
            self.socket_errors.append(f"late ack for envelope {eid} (after the ack deadline)")
            return
        if envelope.future.done():
            self.socket_errors.append(f"duplicate ack for envelope {eid}")
            return
        envelope.future.set_result(self._ack_payload(envelope.frame, frame))

    def _ack_payload(self, envelope: dict[str, Any], ack: dict[str, Any]) -> dict[str, Any] | None:
        eid, payload = ack["envelope_id"], ack.get("payload")
        if payload is None:
            return None
        if not isinstance(payload, dict):
            self.socket_errors.append(f"ack {eid} payload is not an object")
            return None
        if not envelope["accepts_response_payload"]:
            self.socket_errors.append(
                f"ack {eid} carries a payload but its {envelope['type']} envelope does "
                "not accept one (Slack ignores it)"
            )
            return None
        if envelope["type"] == "slash_commands":  # the payload is a message shown to the user
            if isinstance(payload.get("text"), str) and len(payload["text"]) > MAX_TEXT:
                self.socket_errors.append(f"ack {eid} text is longer than {MAX_TEXT} characters")
            if "blocks" in payload:
                self.socket_errors += [f"ack {eid} blocks: {e}" for e in _block_errors(payload["blocks"])]
        return copy.deepcopy(payload)

    async def _handle_hook(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        if path not in self._hooks:
            return web.Response(status=404, text="no_active_hooks", content_type="text/plain")
        if self._hooks[path] >= RESPONSE_URL_USES:
            return web.Response(status=404, text="used_url", content_type="text/plain")
        try:
            body = json.loads(await request.text())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return web.Response(status=400, text="invalid_payload", content_type="text/plain")
        if "blocks" in body and _block_errors(body["blocks"]):
            return web.Response(status=400, text="invalid_blocks", content_type="text/plain")
        self._hooks[path] += 1
        self.responses.append({"url": f"{self._root}/hooks/{path}", "body": body})
        return web.Response(text="ok", content_type="text/plain")

    # ------------------------------------------------------------------------------------------- HTTP layer
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        req, read_error = await self._read(request, self.methods.get(method))
        if self._outage:
            return self._fault_reply(method, req.args, _Fault("fail", status=self._outage_status))
        fault = next((f for f in self._faults if f.method in (None, method)), None)
        if fault is not None:
            self._faults.remove(fault)
        if fault and fault.kind == "fail" and not fault.perform:
            return self._fault_reply(method, req.args, fault)
        status, body, headers = self._answer(method, req, read_error, fault)
        if holds := self._holds.get(method):
            held = holds.popleft()
            held.arrived.set()
            await held.released.wait()
        if fault and fault.kind == "fail":
            return self._fault_reply(method, req.args, fault)
        if fault and fault.kind == "drop":
            self.calls.append(Call(method, req.args, 0, body))
            if request.transport is not None:
                request.transport.abort()  # the work is done, the answer is lost
            return web.Response(status=204)
        return self._reply(method, req.args, status, body, headers)

    def _answer(
        self, method: str, req: _Request, read_error: SlackError | None, fault: _Fault | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        try:
            spec = self._lookup(method)
            if read_error is not None:
                raise read_error
            if fault and fault.kind == "ratelimit":
                raise SlackError("ratelimited", status=429, headers={"Retry-After": str(fault.retry_after)})
            status, body, headers = 200, self._dispatch(spec, req), {}
        except SlackError as err:
            status, body, headers = err.status, err.body(), err.headers
        if req.warnings:  # e.g. {"warning": "missing_charset", "response_metadata": {"warnings": [...]}}
            meta = {**body.get("response_metadata", {}), "warnings": req.warnings}
            body = {**body, "warning": ",".join(req.warnings), "response_metadata": meta}
        return status, body, headers

    def _lookup(self, method: str) -> MethodSpec:
        if method in DEPRECATED_METHODS or method.startswith(DEPRECATED_PREFIXES):
            raise SlackError("method_deprecated")
        spec = self.methods.get(method)
        if spec is None:
            raise SlackError("unknown_method", status=404, req_method=method)
        return spec

    def _headers(self, method: str, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        spec = self.methods.get(method)
        return {
            "x-oauth-scopes": ",".join(self.app_scopes if method in APP_TOKEN_METHODS else self.scopes),
            "x-accepted-oauth-scopes": ",".join(spec.scopes) if spec else "",
            "x-slack-req-id": f"fake-{next(self._ids)}",
            **(extra or {}),
        }

    def _reply(
        self, method: str, args: dict[str, Any], status: int, body: dict[str, Any], headers: Mapping[str, str]
    ) -> web.Response:
        self.calls.append(Call(method, args, status, body))
        return web.json_response(
            body,
            status=status,
            headers=self._headers(method, headers),
            content_type="application/json",
            dumps=json.dumps,
        )

    def _fault_reply(self, method: str, args: dict[str, Any], fault: _Fault) -> web.Response:
        if fault.body == "json":
            body: dict[str, Any] | str = {"ok": False, "error": "fatal_error"}
            text, ctype = json.dumps(body), "application/json"
        else:
            body = text = _HTML_ERROR.format(status=fault.status)
            ctype = "text/html"
        self.calls.append(Call(method, args, fault.status, body))
        return web.Response(status=fault.status, text=text, content_type=ctype, headers=self._headers(method))

    async def _read(self, request: web.Request, spec: MethodSpec | None) -> tuple[_Request, SlackError | None]:
        """The call's arguments and token; query-string tokens are ignored (apps made after 2021-02-24)."""
        req = _Request(
            {k: v for k, v in request.query.items() if k != "token"},
            self._bearer(request),
            [],
            http_method=request.method,
        )
        if request.content_type == "application/json":
            try:
                body = await self._json_body(request)
            except SlackError as err:
                return req, err
            if spec is None or spec.json_ok:  # JSON is read by write methods only; token must be a header
                req.args.update({k: v for k, v in body.items() if k != "token"})
            req.warnings = [] if request.charset else ["missing_charset"]
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
            form_token = form.pop("token", None)
            if req.token is None and form_token:
                req.token, req.token_in_body = form_token, True
            req.args.update(form)
        return req, None

    @staticmethod
    def _bearer(request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return None
        return auth[len("Bearer ") :].strip() or None

    @staticmethod
    async def _json_body(request: web.Request) -> dict[str, Any]:
        raw = await request.text()
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError:
            raise SlackError("invalid_json") from None
        if not isinstance(body, dict):
            raise SlackError("json_not_object")
        return body

    async def _handle_upload(self, request: web.Request) -> web.Response:
        upload = self.uploads.get(request.match_info["file_id"])
        if upload is None:
            return web.Response(status=404, text="file not found", content_type="text/plain")
        upload["data"] = await request.read()
        return web.Response(text=f"OK - {len(upload['data'])}", content_type="text/plain")

    # ------------------------------------------------------------------------------------------ dispatch
    def _dispatch(self, spec: MethodSpec, req: _Request) -> dict[str, Any]:
        if spec.name in APP_TOKEN_METHODS:
            self._check_app_auth(spec, req)
        else:
            self._check_auth(req.token)
            self._check_scope(spec, req.args)
        self._check_required(spec, req.args)
        handler = self._handlers.get(spec.name)
        if handler is None:
            raise SlackError("fake_not_implemented", status=501)
        return {"ok": True, **handler(req.args)}

    def _check_auth(self, token: str | None) -> None:
        if not token:
            raise SlackError("not_authed")
        if token in self._revoked:
            raise SlackError(self._revoked[token])
        if token == self.app_token:  # an app-level token can call apps.connections.* and little else
            raise SlackError("not_allowed_token_type")
        if token != self.token:
            raise SlackError("invalid_auth")

    def _check_app_auth(self, spec: MethodSpec, req: _Request) -> None:
        """apps.connections.open: POST, with the app-level token in the Authorization header."""
        if req.http_method != "POST":
            raise SlackError("insecure_request")  # the method's error table: "not called via a POST request"
        if not req.token or req.token_in_body:
            # Docs: "passing it as a POST parameter will result in an error" (which error is undocumented).
            raise SlackError("not_authed")
        if req.token in self._revoked:
            raise SlackError(self._revoked[req.token])
        if req.token == self.token:
            raise SlackError("not_allowed_token_type")
        if req.token != self.app_token:
            raise SlackError("invalid_auth")
        if not any(s in self.app_scopes for s in spec.scopes):
            raise SlackError("missing_scope", needed=spec.scopes[0], provided=",".join(self.app_scopes))

    def _check_scope(self, spec: MethodSpec, args: dict[str, Any]) -> None:
        choices = spec.scopes
        if spec.name in _CHANNEL_SCOPES:
            info = self.channels.get(str(args.get("channel", "")), {})
            choices = (_CHANNEL_SCOPES[spec.name][1 if info.get("is_private") else 0],)
        if choices and not any(s in self.scopes for s in choices):
            raise SlackError("missing_scope", needed=choices[0], provided=",".join(self.scopes))

    @staticmethod
    def _check_required(spec: MethodSpec, args: dict[str, Any]) -> None:
        for name in spec.required:
            if args.get(name) in (None, ""):
                raise _missing_error(spec.name, name)

    # ---------------------------------------------------------------------------------------- channels
    def _channel(self, args: dict[str, Any], key: str = "channel", by_name: bool = False) -> str:
        """Resolve a channel the bot can see (private channels it is not in do not exist for it)."""
        wanted = str(args.get(key, ""))
        if by_name and wanted not in self.channels:  # chat.postMessage also takes a channel name
            named = (cid for cid, c in self.channels.items() if c.get("name") == wanted.lstrip("#"))
            wanted = next(named, wanted)
        info = self.channels.get(wanted)
        if info is None or (info.get("is_private") and not info.get("member")):
            raise SlackError("channel_not_found")
        return wanted

    def _member_channel(
        self, args: dict[str, Any], key: str = "channel", by_name: bool = False, for_post: bool = False
    ) -> str:
        cid = self._channel(args, key, by_name)
        info = self.channels[cid]
        if for_post and info.get("is_archived"):
            raise SlackError("is_archived")
        public_post = for_post and "chat:write.public" in self.scopes and not info.get("is_private")
        if not info.get("member") and not public_post:
            raise SlackError("not_in_channel")
        return cid

    # ---------------------------------------------------------------------------------------- messages
    def _next_ts(self) -> str:
        micros = max(int(self.clock() * 1_000_000), self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _find(self, channel: str, ts: Any) -> _Message | None:
        return next((m for m in self._messages.get(channel, []) if m.ts == str(ts) and not m.orphaned), None)

    def _is_parent(self, msg: _Message) -> bool:
        return not msg.orphaned and not msg.is_reply

    def _replies(self, channel: str, parent_ts: str) -> list[_Message]:
        return [
            m for m in self._messages.get(channel, []) if m.is_reply and m.thread_ts == parent_ts and not m.orphaned
        ]

    def _content(self, args: dict[str, Any], require_text: bool = True) -> _Content:
        text = None if args.get("text") is None else str(args["text"])
        blocks = self._blocks(args["blocks"]) if "blocks" in args else None
        attachments = _json_arg(args["attachments"], "invalid_attachments") if "attachments" in args else None
        if require_text and not (text or blocks or attachments):
            raise SlackError("no_text")
        if text is not None and len(text) > MAX_TEXT:
            raise SlackError("msg_too_long")
        metadata = self._metadata(args["metadata"]) if "metadata" in args else None
        return _Content(text, blocks, attachments, metadata)

    def _blocks(self, raw: Any) -> list[dict[str, Any]]:
        blocks = _json_arg(raw, "invalid_blocks_format")
        if not isinstance(blocks, list):
            raise SlackError("invalid_blocks_format")
        errors = validate_blocks(blocks)
        if errors:
            raise SlackError(
                "invalid_blocks", errors=errors, response_metadata={"messages": [f"[ERROR] {e}" for e in errors]}
            )
        return [self._with_block_id(b) for b in blocks]

    def _with_block_id(self, block: dict[str, Any]) -> dict[str, Any]:
        """Slack gives every block without a block_id a generated one."""
        stored = copy.deepcopy(block)
        stored.setdefault("block_id", f"fk{next(self._ids):04d}")
        return stored

    @staticmethod
    def _metadata(raw: Any) -> dict[str, Any]:
        metadata = _json_arg(raw, "invalid_metadata_format")
        if not (
            isinstance(metadata, dict)
            and isinstance(metadata.get("event_type"), str)
            and metadata["event_type"]
            and isinstance(metadata.get("event_payload"), dict)
        ):
            raise SlackError("invalid_metadata_format")
        payload = copy.deepcopy(metadata["event_payload"])
        return {"event_type": metadata["event_type"], "event_payload": payload}

    def _thread_parent(self, cid: str, args: dict[str, Any]) -> tuple[str | None, bool]:
        """(thread_ts, orphaned). A well-formed ts naming no parent is accepted silently, like Slack does."""
        raw = args.get("thread_ts")
        if raw in (None, ""):
            return None, False
        thread_ts = str(raw)
        if not _TS_RE.match(thread_ts) or Decimal(thread_ts) == 0:
            message = f"[ERROR] {thread_ts} is not a valid thread_ts"
            raise SlackError("invalid_thread_ts", response_metadata={"messages": [message]})
        parent = self._find(cid, thread_ts)
        return thread_ts, parent is None or parent.is_reply

    def _rate_limit(self, cid: str) -> None:
        if self.post_rate_per_sec is None:
            return
        now = self.clock()
        bucket = self._buckets.setdefault(cid, _Bucket(float(self.post_burst), now))
        refill = (now - bucket.stamp) * self.post_rate_per_sec
        bucket.tokens = min(float(self.post_burst), bucket.tokens + refill)
        bucket.stamp = now
        if bucket.tokens < 1:
            wait = max(1, math.ceil((1 - bucket.tokens) / self.post_rate_per_sec))
            raise SlackError("ratelimited", status=429, headers={"Retry-After": str(wait)})
        bucket.tokens -= 1

    def _store(self, cid: str, content: _Content, args: dict[str, Any], rate_limited: bool = False) -> _Message:
        thread_ts, orphaned = self._thread_parent(cid, args)
        if rate_limited:
            self._rate_limit(cid)
        msg = _Message(
            channel=cid,
            ts=self._next_ts(),
            text=content.text or "",
            user=BOT_USER_ID,
            bot_id=BOT_ID,
            blocks=content.blocks,
            attachments=content.attachments,
            metadata=content.metadata,
            thread_ts=thread_ts,
            reply_broadcast=bool(thread_ts) and _truthy(args.get("reply_broadcast")),
            orphaned=orphaned,
        )
        self._messages.setdefault(cid, []).append(msg)
        return msg

    def _wire(self, msg: _Message, with_metadata: bool = True) -> dict[str, Any]:
        """The message as Slack's API returns it."""
        out: dict[str, Any] = {"type": "message", "user": msg.user, "text": msg.text, "ts": msg.ts, "team": TEAM_ID}
        if msg.bot_id:
            out |= {"bot_id": msg.bot_id, "app_id": APP_ID}
        for key in ("blocks", "attachments", "files"):
            if getattr(msg, key) is not None:
                out[key] = copy.deepcopy(getattr(msg, key))
        if with_metadata and msg.metadata:
            out["metadata"] = copy.deepcopy(msg.metadata)
        if msg.edits:
            out["edited"] = {"user": msg.user, "ts": msg.edits[-1]["edited_ts"]}
        return out | self._thread_fields(msg)

    def _thread_fields(self, msg: _Message) -> dict[str, Any]:
        if msg.is_reply:
            parent = self._find(msg.channel, msg.thread_ts)
            fields: dict[str, Any] = {"thread_ts": msg.thread_ts}
            fields |= {"parent_user_id": parent.user} if parent else {}
            return fields | ({"subtype": "thread_broadcast"} if msg.reply_broadcast else {})
        replies = self._replies(msg.channel, msg.ts)
        if not replies or msg.orphaned:
            return {}
        users = list(dict.fromkeys(r.user for r in replies))
        return {
            "thread_ts": msg.ts,
            "reply_count": len(replies),
            "reply_users": users,
            "reply_users_count": len(users),
            "latest_reply": replies[-1].ts,
        }

    # --------------------------------------------------------------------------------------- chat.*
    def _chat_post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._member_channel(args, by_name=True, for_post=True)
        msg = self._store(cid, self._content(args), args, rate_limited=True)
        return {"channel": cid, "ts": msg.ts, "message": self._wire(msg)}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._channel(args)
        msg = self._find(cid, args["ts"])
        if msg is None:
            raise SlackError("message_not_found")
        if msg.user != BOT_USER_ID:
            raise SlackError("cant_update_message")
        content = self._content(args)
        msg.edits.append(
            {
                "text": msg.text,
                "blocks": copy.deepcopy(msg.blocks),
                "metadata": msg.metadata,
                "attachments": msg.attachments,
                "edited_ts": self._next_ts(),
            }
        )
        msg.text = msg.text if content.text is None else content.text  # omitted fields keep their old value
        msg.blocks = msg.blocks if content.blocks is None else content.blocks
        msg.attachments = msg.attachments if content.attachments is None else content.attachments
        msg.metadata = msg.metadata if content.metadata is None else content.metadata
        return {"channel": cid, "ts": msg.ts, "text": msg.text, "message": self._wire(msg)}

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._member_channel(args, by_name=True, for_post=True)
        content = self._content(args)
        ts = self._next_ts()
        self.ephemerals.append(
            {
                "channel": cid,
                "user": args["user"],
                "ts": ts,
                "text": content.text or "",
                "blocks": content.blocks,
                "thread_ts": args.get("thread_ts"),
            }
        )
        return {"message_ts": ts}

    def _chat_get_permalink(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._channel(args)
        msg = self._find(cid, args["message_ts"])
        if msg is None:
            raise SlackError("message_not_found")
        link = f"https://fake-workspace.slack.com/archives/{cid}/p{msg.ts.replace('.', '')}"
        if msg.is_reply:
            link += f"?thread_ts={msg.thread_ts}&cid={cid}"
        return {"channel": cid, "permalink": link}

    # ------------------------------------------------------------------------------ conversations.*
    def _conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._member_channel(args)
        visible = [
            m for m in self._messages.get(cid, []) if self._is_parent(m) or (m.reply_broadcast and not m.orphaned)
        ]
        newest_first = sorted(visible, key=lambda m: Decimal(m.ts), reverse=True)
        return self._page(_time_window(newest_first, args), args, 100)

    def _conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._member_channel(args)
        msg = self._find(cid, args["ts"])
        if msg is None:
            raise SlackError("thread_not_found")
        chain = [msg] if msg.is_reply else [msg, *self._replies(cid, msg.ts)]
        return self._page(_time_window(chain, args, keep_first=not msg.is_reply), args, 1000)

    def _page(self, items: list[_Message], args: dict[str, Any], default_limit: int) -> dict[str, Any]:
        limit = _limit(args.get("limit"), default_limit)
        start = _decode_cursor(args.get("cursor"))
        page = items[start : start + limit]
        more = start + limit < len(items)
        with_meta = _truthy(args.get("include_all_metadata"))
        return {
            "messages": [self._wire(m, with_meta) for m in page],
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": _encode_cursor(start + limit) if more else ""},
        }

    def _conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = self._channel(args)
        info = self.channels[cid]
        return {
            "channel": {
                "id": cid,
                "name": info.get("name", cid.lower()),
                "is_channel": True,
                "is_private": bool(info.get("is_private")),
                "is_archived": bool(info.get("is_archived")),
                "is_member": bool(info.get("member")),
                "context_team_id": TEAM_ID,
            }
        }

    # ------------------------------------------------------------------------------ auth, users, files
    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake-workspace.slack.com/",
            "team": TEAM_NAME,
            "user": "statusbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        ticket = str(uuid.uuid4())
        self._tickets.add(ticket)
        ws_root = "ws://" + self._root.removeprefix("http://")
        return {"url": f"{ws_root}/socket-mode?ticket={ticket}&app_id={APP_ID}"}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = str(args["user"])
        if uid == BOT_USER_ID:
            bot = {"id": uid, "team_id": TEAM_ID, "name": "statusbot", "is_bot": True, "deleted": False}
            return {"user": bot}
        if uid not in self.users:
            raise SlackError("user_not_found")
        user = {"name": uid.lower(), "is_bot": False, "deleted": False, **self.users[uid]}
        return {"user": {"id": uid, "team_id": TEAM_ID, **user}}

    def _usergroups_users_list(self, args: dict[str, Any]) -> dict[str, Any]:
        group = str(args["usergroup"])
        if group not in self.usergroups:
            raise SlackError("no_such_subteam")
        return {"users": list(self.usergroups[group])}

    def _files_get_upload_url(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            raise _invalid_arguments("invalid length") from None
        file_id = f"F0FAKE{next(self._ids):04d}"
        self.uploads[file_id] = {"filename": str(args["filename"]), "length": length, "data": None}
        return {"upload_url": f"{self._root}/upload/v1/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> dict[str, Any]:
        files = _json_arg(args["files"], "invalid_arguments")
        if not isinstance(files, list) or not all(isinstance(f, dict) and "id" in f for f in files):
            raise _invalid_arguments("files must be a list of objects with an id")
        for item in files:
            if self.uploads.get(item["id"], {}).get("data") is None:
                raise SlackError("file_not_found")
        shared = [
            {
                "id": f["id"],
                "title": f.get("title") or self.uploads[f["id"]]["filename"],
                "name": self.uploads[f["id"]]["filename"],
            }
            for f in files
        ]
        if args.get("channel_id"):
            self._share_files(args, shared)
        return {"files": shared}

    def _share_files(self, args: dict[str, Any], shared: list[dict[str, Any]]) -> None:
        cid = self._member_channel(args, key="channel_id", for_post=True)
        content = _Content(str(args.get("initial_comment") or ""), None, None, None)
        msg = self._store(cid, content, args)
        msg.files = copy.deepcopy(shared)


# ---------------------------------------------------------------------------------------------- helpers
def _missing_error(method: str, name: str) -> SlackError:
    if name in ("channel", "channel_id"):
        return SlackError("channel_not_found")
    special = {("conversations.replies", "ts"): "thread_not_found", ("users.info", "user"): "user_not_found"}
    if (method, name) in special:
        return SlackError(special[(method, name)])
    return _invalid_arguments(f"missing required field: {name}")


def _block_errors(blocks: Any) -> list[str]:
    return validate_blocks(blocks) if isinstance(blocks, list) else ["must be an array [json-pointer:/blocks]"]


def _time_window(msgs: list[_Message], args: dict[str, Any], keep_first: bool = False) -> list[_Message]:
    oldest = _decimal_ts(args.get("oldest", "0"), "invalid_ts_oldest")
    latest = _decimal_ts(args["latest"], "invalid_ts_latest") if args.get("latest") else None
    inclusive = _truthy(args.get("inclusive"))

    def inside(msg: _Message) -> bool:
        ts = Decimal(msg.ts)
        above = ts >= oldest if inclusive else ts > oldest
        below = latest is None or (ts <= latest if inclusive else ts < latest)
        return above and below

    return [m for i, m in enumerate(msgs) if (keep_first and i == 0) or inside(m)]


def _limit(raw: Any, default: int) -> int:
    try:
        value = int(raw) if raw not in (None, "") else default
    except (TypeError, ValueError):
        raise _invalid_arguments("limit must be an integer") from None
    return min(value if value > 0 else default, 1000)


def _encode_cursor(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode_cursor(raw: Any) -> int:
    if raw in (None, ""):
        return 0
    try:
        prefix, _, value = base64.b64decode(str(raw), validate=True).decode().partition(":")
        if prefix != "offset":
            raise ValueError(prefix)
        return int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise SlackError("invalid_cursor") from None
