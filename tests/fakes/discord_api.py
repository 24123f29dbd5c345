"""Strict loopback fake of Discord's REST API v10 and gateway, for driving the real discord.py.

``FakeDiscord`` is an ``aiohttp.web`` server bound to 127.0.0.1 on a free port. It serves:

* REST under ``http://127.0.0.1:PORT/api/v10`` (``dc.api_base``). Every request is matched against the
  OpenAPI 3.1 spec in ``/work/shared/specs/discord_openapi.json``. You can override that path with
  ``spec_path=`` or the ``DISCORD_OPENAPI_SPEC`` environment variable.
* the gateway websocket at ``ws://127.0.0.1:PORT/gateway`` (``dc.gateway_url``).

How to point discord.py 2.7 at it (see ``discord/http.py``, ``gateway.py`` and ``client.py``)
---------------------------------------------------------------------------------------------
1. REST: ``Route.BASE`` is a class attribute that is read when each ``Route`` is built. The webhook
   and interaction adapter in ``discord/webhook/async_.py`` uses the same ``Route``. So one patch
   covers ``HTTPClient``, ``Client``, ``Interaction.response`` and ``Webhook.partial``::

       monkeypatch.setattr(discord.http.Route, "BASE", dc.api_base)

2. Gateway: a plain ``discord.Client`` never calls ``GET /gateway/bot``. ``Client.connect`` always
   starts at ``DiscordWebSocket.DEFAULT_GATEWAY``. It returns there after an INVALID_SESSION, and
   only ``AutoShardedClient`` asks ``/gateway/bot``. Patch the class attribute::

       monkeypatch.setattr(discord.gateway.DiscordWebSocket, "DEFAULT_GATEWAY", yarl.URL(dc.gateway_url))

   ``GET /gateway/bot`` and ``GET /gateway`` still return ``dc.gateway_url``, for sharded clients.
   READY's ``resume_gateway_url`` also points at the fake, because discord.py RESUMEs there.

3. Create the client with ``guild_ready_timeout=0.1``. ``on_ready`` fires only after
   ``guild_ready_timeout`` seconds (default 2.0) without a GUILD_CREATE, so the small value saves
   ~2 s per test. Use no privileged intents (``discord.Intents.default()``), or the fake closes with
   4014 and discord.py raises ``PrivilegedIntentsRequired``.

discord.py asks for ``compress=zlib-stream`` or ``zstd-stream``. It parses *text* frames as plain
JSON (``DiscordWebSocket.received_message`` decompresses only ``bytes``), so the fake always sends
uncompressed text frames.

4. discord.py sleeps 5 s in ``Client.before_identify_hook`` before every *non-initial* IDENTIFY, for
   example after a non-resumable INVALID_SESSION. Tests of re-identify should override that hook
   with a no-op coroutine. RESUME has no such delay.

REST behaviour
--------------
Requests are checked in this order:

1. The route must be in the spec: an unknown path, or a method the path lacks, gives 404
   ``{"message": "404: Not Found", "code": 0}``. Real Discord answers a wrong method with 405; this
   fake keeps 404, as its contract says.
2. Auth comes from the operation's ``security``. ``[{}, ...]`` (webhook-token and interaction
   callback routes) means the header is optional, but a wrong one still fails. Everything else needs
   ``Authorization: Bot <token>``, or the request gets 401 ``{"message": "401: Unauthorized", "code": 0}``.
3. Injected faults (``fail_next`` / ``ratelimit_next`` / ``drop_response_next``).
4. The global limit (50 requests/s; interaction and webhook-token routes are exempt).
5. The per-route bucket. ``POST /channels/{id}/messages`` uses the per-channel message bucket
   (``message_rate_limit``, default 5 per 5 s). Webhook execution uses the same limits per webhook
   id and token.
6. Body. Malformed JSON gives 50109. Path and query parameters and the JSON body are validated
   against the spec's schemas. Then the REFERENCE.md message rules apply: content at most 2000,
   embed text trimmed with a sum of at most 6000, and field name and value not blank. A failure
   gives 400 ``{"code": 50035, "errors": {...}, "message": "Invalid Form Body"}``, with Discord's
   nested ``_errors`` shape. Unknown JSON keys are ignored, as Discord ignores them.
7. The handler. Routes that are in the spec but not emulated answer 501, so a test fails loudly.
   discord.py does not retry 501.

Every response carries ``X-RateLimit-Limit``, ``-Remaining``, ``-Reset``, ``-Reset-After`` and
``-Bucket``, plus ``Via: 1.1 google``. discord.py treats a 429 *without* ``Via`` as a Cloudflare ban
and raises instead of retrying. A 429 also carries ``Retry-After``, ``X-RateLimit-Scope`` and, when
global, ``X-RateLimit-Global``.

Public API (summary)
--------------------
``async with FakeDiscord(token=..., application_id=..., guild_id=..., channels={id: {...}}) as dc``.
Channel options are ``name``, ``type`` (0, 5 or 15), ``can_view``, ``can_send``, ``can_create_threads``,
``can_send_in_threads``, ``can_attach_files`` and ``topic``; missing permissions show up as a bot-member
permission overwrite. A bot message with files needs Attach Files (403 50013 otherwise).

* URLs: ``dc.api_base``, ``dc.gateway_url``, ``dc.port``.
* Knobs: ``ratelimit_next(n, retry_after=0.2, global_=False)``, ``fail_next(n, status=500)``,
  ``drop_response_next(n)``. Each takes an optional ``match="POST /channels/"`` prefix filter.
  Also ``archive_thread(thread_id, locked=False)``, ``set_channel_permissions(channel_id, **flags)``
  and ``add_webhook(channel_id)``.
* Gateway: ``await dc.dispatch(event, data)``, ``await dc.send_interaction(payload)`` and
  ``dc.slash_command_payload(name, options)``. Also ``await dc.disconnect_client(code=4000)`` (with
  ``code=None`` for an abrupt drop), ``await dc.invalidate_session(resumable=False)`` and
  ``await dc.request_reconnect()``. Counters and state: ``dc.identify_count``, ``dc.resume_count``,
  ``dc.last_identify``, ``dc.gateway_frames`` and ``dc.connected``.
* Introspection: ``dc.requests`` (a list of ``RecordedRequest``) and
  ``dc.requests_for(method, route_template)``. ``dc.messages(channel_id)`` returns ``StoredMessage``
  objects in order, each with ``.data`` (current) and ``.history`` (earlier versions). Also
  ``dc.message(id)``, ``dc.threads``, ``dc.interactions`` and ``dc.interaction_responses``
  ({interaction_id: [callback bodies]}), plus ``dc.global_commands`` / ``dc.guild_commands`` and
  ``dc.commands(guild_id=None)``.
* ``await dc.wait_for(predicate, timeout=5.0)`` polls until ``predicate()`` is true.

Idempotent posts and forum channels
----------------------------------
* ``POST /channels/{id}/messages`` with a ``nonce`` and ``enforce_nonce: true`` returns the message the
  same author already created with that nonce in the last ``nonce_window`` seconds (default 300;
  Discord says "the past few minutes") and creates nothing, as Discord does.
* Channel option ``type=15`` makes a forum channel. Bots cannot post in it directly (50008). A webhook
  post there needs ``thread_name`` (a new post: a thread whose id is the starter message's id) or
  ``thread_id``, else 400 220001; ``thread_name`` in a text channel is 400 220003, and both together
  220002. Webhook message edits and reads find a message in a thread only with ``?thread_id=`` (as on
  Discord: the lookup is scoped to the webhook's channel otherwise).

Gateway behaviour: HELLO, heartbeat ACK, IDENTIFY, READY and GUILD_CREATE as described below. A
bad token closes with 4004, bad intents with 4013 and privileged intents with 4014. Sending before
IDENTIFY closes with 4003, and a second IDENTIFY with 4005. A RESUME with an unknown session gets
op 9 (d=false), and one with a future seq closes with 4007. Otherwise the fake replays the missed
dispatches and then sends RESUMED. Sending more than 120 frames in 60 s closes with 4008. Writes
made over REST emit MESSAGE_CREATE, MESSAGE_UPDATE and THREAD_CREATE when the session holds the
matching intents (``emit_rest_events=True``). Heartbeat timeouts are not enforced.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import hashlib
import json
import math
import os
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

from tests.fakes.shared import spec

# The fake cannot be strict without Discord's spec, so its users skip where ../shared is absent.
DEFAULT_SPEC_PATH = spec("discord_openapi.json")
DISCORD_EPOCH_MS = 1420070400000
API_PREFIX = "/api/v10"

# Gateway intents (bit values from the Discord docs / discord.Intents.all()).
INTENT_GUILDS = 1 << 0
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_MESSAGE_CONTENT = 1 << 15
PRIVILEGED_INTENTS = INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES | INTENT_MESSAGE_CONTENT
VALID_INTENTS = 53608447  # bits 0-16, 20, 21, 24, 25

# Permission bits.
PERM_ADD_REACTIONS = 1 << 6
PERM_VIEW_CHANNEL = 1 << 10
PERM_SEND_MESSAGES = 1 << 11
PERM_EMBED_LINKS = 1 << 14
PERM_ATTACH_FILES = 1 << 15
PERM_READ_MESSAGE_HISTORY = 1 << 16
PERM_USE_EXTERNAL_EMOJIS = 1 << 18
PERM_USE_APPLICATION_COMMANDS = 1 << 31
PERM_CREATE_PUBLIC_THREADS = 1 << 35
PERM_SEND_MESSAGES_IN_THREADS = 1 << 38
BASE_PERMISSIONS = (
    PERM_ADD_REACTIONS
    | PERM_VIEW_CHANNEL
    | PERM_SEND_MESSAGES
    | PERM_EMBED_LINKS
    | PERM_ATTACH_FILES
    | PERM_READ_MESSAGE_HISTORY
    | PERM_USE_EXTERNAL_EMOJIS
    | PERM_USE_APPLICATION_COMMANDS
    | PERM_CREATE_PUBLIC_THREADS
    | PERM_SEND_MESSAGES_IN_THREADS
)
CHANNEL_FLAG_PERMS = {
    "can_view": PERM_VIEW_CHANNEL,
    "can_send": PERM_SEND_MESSAGES,
    "can_create_threads": PERM_CREATE_PUBLIC_THREADS,
    "can_send_in_threads": PERM_SEND_MESSAGES_IN_THREADS,
    "can_attach_files": PERM_ATTACH_FILES,
}

# Message flags.
FLAG_SUPPRESS_EMBEDS = 1 << 2
FLAG_HAS_THREAD = 1 << 5
FLAG_EPHEMERAL = 1 << 6
FLAG_LOADING = 1 << 7
FLAG_SUPPRESS_NOTIFICATIONS = 1 << 12
FLAG_IS_COMPONENTS_V2 = 1 << 15
CREATE_FLAGS = FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | (1 << 13) | FLAG_IS_COMPONENTS_V2
INTERACTION_FLAGS = FLAG_EPHEMERAL | FLAG_SUPPRESS_EMBEDS | FLAG_SUPPRESS_NOTIFICATIONS | FLAG_IS_COMPONENTS_V2

# Interaction callback types allowed per interaction type.
CALLBACKS_BY_INTERACTION = {2: {4, 5, 9, 12}, 3: {4, 5, 6, 7, 9, 12}, 4: {8}, 5: {4, 5, 6, 7}}
MESSAGE_CALLBACKS = {4, 7}

TEXT_CHANNEL_TYPES = {0, 5}
FORUM_CHANNEL = 15
NONCE_WINDOW = 300.0
PUBLIC_THREAD = 11
MESSAGE_CONTENT_MAX = 2000
EMBED_TOTAL_MAX = 6000
COMMAND_NAME_RE = re.compile(r"^[-_'\w]{1,32}$")
SNOWFLAKE_RE = re.compile(r"^(0|[1-9][0-9]*)$")


# --------------------------------------------------------------------------- errors


class ApiError(Exception):
    """An error response the fake sends (status + Discord JSON body)."""

    def __init__(self, status: int, body: dict[str, Any] | None, headers: Mapping[str, str] | None = None):
        super().__init__(f"{status} {body}")
        self.status = status
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})


def api_error(status: int, message: str, code: int) -> ApiError:
    return ApiError(status, {"message": message, "code": code})


def form_error(errors: dict[str, Any]) -> ApiError:
    return ApiError(400, {"code": 50035, "errors": errors, "message": "Invalid Form Body"})


def not_found() -> ApiError:
    return api_error(404, "404: Not Found", 0)


def unknown_channel() -> ApiError:
    return api_error(404, "Unknown Channel", 10003)


def unknown_message() -> ApiError:
    return api_error(404, "Unknown Message", 10008)


def unknown_webhook() -> ApiError:
    return api_error(404, "Unknown Webhook", 10015)


def unknown_interaction() -> ApiError:
    return api_error(404, "Unknown interaction", 10062)


def missing_access() -> ApiError:
    return api_error(403, "Missing Access", 50001)


def missing_permissions() -> ApiError:
    return api_error(403, "Missing Permissions", 50013)


def empty_message() -> ApiError:
    return api_error(400, "Cannot send an empty message", 50006)


def leaf(code: str, message: str) -> dict[str, Any]:
    return {"_errors": [{"code": code, "message": message}]}


def merge_errors(into: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge Discord error trees (``_errors`` lists are concatenated)."""
    for key, value in other.items():
        if key == "_errors":
            into.setdefault("_errors", []).extend(value)
        else:
            merge_errors(into.setdefault(key, {}), value)
    return into


def count_leaves(tree: dict[str, Any]) -> int:
    return sum(len(v) if k == "_errors" else count_leaves(v) for k, v in tree.items())


# --------------------------------------------------------------------------- small helpers


def iso_now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class SnowflakeGenerator:
    """Discord-shaped snowflakes, strictly increasing across every object the fake creates."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        millis = int(time.time() * 1000) - DISCORD_EPOCH_MS
        self._last = max((millis << 22) | (1 << 17), self._last + 1)
        return self._last


def _strip_text(obj: dict[str, Any], key: str) -> None:
    if isinstance(obj.get(key), str):
        obj[key] = obj[key].strip()


def strip_embed(embed: Any) -> Any:
    """Trim leading/trailing whitespace like Discord does before counting embed limits."""
    if not isinstance(embed, dict):
        return embed
    embed = copy.deepcopy(embed)
    for key in ("title", "description"):
        _strip_text(embed, key)
    for key, sub in (("footer", "text"), ("author", "name")):
        if isinstance(embed.get(key), dict):
            _strip_text(embed[key], sub)
    for fld in embed.get("fields") or []:
        if isinstance(fld, dict):
            _strip_text(fld, "name")
            _strip_text(fld, "value")
    return embed


def embed_text_length(embed: Any) -> int:
    if not isinstance(embed, dict):
        return 0
    parts = [embed.get("title"), embed.get("description")]
    parts.append((embed.get("footer") or {}).get("text") if isinstance(embed.get("footer"), dict) else None)
    parts.append((embed.get("author") or {}).get("name") if isinstance(embed.get("author"), dict) else None)
    for fld in embed.get("fields") or []:
        if isinstance(fld, dict):
            parts += [fld.get("name"), fld.get("value")]
    return sum(len(p) for p in parts if isinstance(p, str))


def normalize_embed(embed: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in embed.items() if v is not None}
    out.setdefault("type", "rich")
    return out


def message_rule_errors(body: Mapping[str, Any]) -> dict[str, Any]:
    """REFERENCE.md limits not expressed (or looser) in the OpenAPI spec."""
    errors: dict[str, Any] = {}
    content = body.get("content")
    if isinstance(content, str) and len(content) > MESSAGE_CONTENT_MAX:
        errors["content"] = leaf("BASE_TYPE_MAX_LENGTH", f"Must be {MESSAGE_CONTENT_MAX} or fewer in length.")
    embeds = body.get("embeds")
    if not isinstance(embeds, list):
        return errors
    for index, embed in enumerate(embeds):
        merge_errors(errors, _blank_field_errors(index, embed))
    if sum(embed_text_length(e) for e in embeds) > EMBED_TOTAL_MAX:
        merge_errors(errors, {"embeds": leaf("MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000")})
    return errors


def _blank_field_errors(index: int, embed: Any) -> dict[str, Any]:
    errors: dict[str, Any] = {}
    fields = embed.get("fields") if isinstance(embed, dict) else None
    for f_index, fld in enumerate(fields if isinstance(fields, list) else []):
        for key in ("name", "value"):
            if isinstance(fld, dict) and fld.get(key) == "":
                node = {"embeds": {str(index): {"fields": {str(f_index): {key: {}}}}}}
                node["embeds"][str(index)]["fields"][str(f_index)][key] = leaf(
                    "BASE_TYPE_REQUIRED", "This field is required"
                )
                merge_errors(errors, node)
    return errors


def message_is_empty(data: Mapping[str, Any]) -> bool:
    content = data.get("content")
    has_content = isinstance(content, str) and content.strip() != ""
    keys = ("embeds", "components", "sticker_ids", "attachments", "poll")
    return not has_content and not any(data.get(k) for k in keys)


# --------------------------------------------------------------------------- OpenAPI spec


@dataclass(frozen=True)
class RouteMatch:
    template: str
    method: str
    operation: dict[str, Any]
    params: dict[str, str]
    parameters: tuple[dict[str, Any], ...]

    @property
    def operation_id(self) -> str:
        return str(self.operation.get("operationId", ""))

    def parameter_schemas(self, location: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p.get("schema", {}) for p in self.parameters if p.get("in") == location}


@dataclass(frozen=True)
class _RouteEntry:
    template: str
    segments: tuple[str, ...]
    item: dict[str, Any]

    @property
    def literal_count(self) -> int:
        return sum(not s.startswith("{") for s in self.segments)

    def bind(self, parts: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for seg, part in zip(self.segments, parts, strict=True):
            if seg.startswith("{"):
                if not part:
                    return None
                params[seg[1:-1]] = part
            elif seg != part:
                return None
        return params


class OpenApiSpec:
    """Route table + schema resolution over Discord's OpenAPI document."""

    METHODS = ("get", "put", "post", "patch", "delete")

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self._routes: dict[int, list[_RouteEntry]] = {}
        for template, item in raw["paths"].items():
            entry = _RouteEntry(template, tuple(template.strip("/").split("/")), item)
            self._routes.setdefault(len(entry.segments), []).append(entry)
        for entries in self._routes.values():
            entries.sort(key=lambda e: -e.literal_count)

    def match(self, method: str, path: str) -> RouteMatch | None:
        parts = path.strip("/").split("/") if path != "/" else [""]
        if path.endswith("/") and path != "/":
            return None
        for entry in self._routes.get(len(parts), []):
            params = entry.bind(parts)
            if params is None:
                continue
            op = entry.item.get(method.lower())
            if op is None or method.lower() not in self.METHODS:
                return None
            parameters = tuple(entry.item.get("parameters", [])) + tuple(op.get("parameters", []))
            return RouteMatch(entry.template, method.upper(), op, params, parameters)
        return None

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = self.raw["components"]["schemas"][name]
        return schema

    def json_body_schema(self, op: dict[str, Any]) -> dict[str, Any] | None:
        content = (op.get("requestBody") or {}).get("content") or {}
        return (content.get("application/json") or {}).get("schema")


@functools.lru_cache(maxsize=4)
def load_spec(path: str) -> OpenApiSpec:
    with open(path, encoding="utf-8") as fh:
        return OpenApiSpec(json.load(fh))


_TYPE_ERRORS = {
    "string": ("BASE_TYPE_STRING", 'Could not interpret "{v}" as string.'),
    "integer": ("NUMBER_TYPE_COERCE", 'Value "{v}" is not int.'),
    "number": ("NUMBER_TYPE_COERCE", 'Value "{v}" is not a valid number.'),
    "boolean": ("BASE_TYPE_BOOLEAN", "Must be either true or false."),
    "array": ("LIST_TYPE_CONVERT", "Only iterables may be used in a ListType."),
    "object": ("DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType."),
    "null": ("BASE_TYPE_NULL", "Value must be null."),
}
_TYPE_CODES = {code for code, _ in _TYPE_ERRORS.values()} | {"BASE_TYPE_REQUIRED"}


def _is_snowflake_schema(schema: Mapping[str, Any]) -> bool:
    return schema.get("format") == "snowflake"


def _type_ok(value: Any, kind: str, schema: Mapping[str, Any]) -> bool:
    checks: dict[str, Callable[[Any], bool]] = {
        "null": lambda v: v is None,
        "string": lambda v: (
            isinstance(v, str) or (_is_snowflake_schema(schema) and isinstance(v, int) and not isinstance(v, bool))
        ),
        "integer": lambda v: (
            (isinstance(v, int) and not isinstance(v, bool))
            or (isinstance(v, str) and re.fullmatch(r"-?\d+", v) is not None)
        ),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
        "array": lambda v: isinstance(v, list),
        "object": lambda v: isinstance(v, dict),
    }
    return checks.get(kind, lambda _v: True)(value)


def _length_error(size: int, low: int | None, high: int | None) -> dict[str, Any]:
    if (low is None or size >= low) and (high is None or size <= high):
        return {}
    if low is not None and high is not None:
        return leaf("BASE_TYPE_BAD_LENGTH", f"Must be between {low} and {high} in length.")
    if high is not None:
        return leaf("BASE_TYPE_MAX_LENGTH", f"Must be {high} or fewer in length.")
    return leaf("BASE_TYPE_MIN_LENGTH", f"Must be {low} or more in length.")


class SchemaValidator:
    """A small JSON-Schema (OpenAPI 3.1 subset) validator producing Discord's 50035 error trees.

    Unions (``oneOf``/``anyOf``) pass if any branch passes; on failure the closest branch's errors are
    reported. ``additionalProperties: false`` is not enforced (Discord ignores unknown keys).
    Integer fields accept numeric strings and snowflake fields accept ints, as Discord coerces both.
    """

    def __init__(self, spec: OpenApiSpec) -> None:
        self._spec = spec

    def validate(self, value: Any, schema: dict[str, Any]) -> dict[str, Any]:
        schema = self._spec.resolve(schema)
        errors = self._check_type(value, schema)
        if errors:
            return errors
        for sub in schema.get("allOf", ()):
            merge_errors(errors, self.validate(value, sub))
        union = schema.get("oneOf") or schema.get("anyOf")
        if not errors and union:
            errors = self._check_union(value, union)
        if errors:
            return errors
        return self._check_value(value, schema)

    def _check_type(self, value: Any, schema: dict[str, Any]) -> dict[str, Any]:
        kinds = schema.get("type")
        if kinds is None:
            return {}
        kinds = [kinds] if isinstance(kinds, str) else list(kinds)
        if any(_type_ok(value, kind, schema) for kind in kinds):
            return {}
        if value is None:
            return leaf("BASE_TYPE_REQUIRED", "This field is required")
        if _is_snowflake_schema(schema):
            return leaf("NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
        expected = next((k for k in kinds if k != "null"), "null")
        code, message = _TYPE_ERRORS.get(expected, _TYPE_ERRORS["null"])
        return leaf(code, message.format(v=value))

    def _check_union(self, value: Any, branches: list[dict[str, Any]]) -> dict[str, Any]:
        results = [self.validate(value, branch) for branch in branches]
        if any(not r for r in results):
            return {}
        resolved = [self._spec.resolve(b) for b in branches]
        if all("const" in b for b in resolved):
            return leaf("BASE_TYPE_CHOICES", f"Value must be one of {tuple(b['const'] for b in resolved)}.")
        return min(results, key=lambda r: (self._is_type_error(r), count_leaves(r)))

    @staticmethod
    def _is_type_error(errors: dict[str, Any]) -> bool:
        return any(e["code"] in _TYPE_CODES for e in errors.get("_errors", []))

    def _check_value(self, value: Any, schema: dict[str, Any]) -> dict[str, Any]:
        if value is None:
            return {}
        choices = schema.get("enum", [schema["const"]] if "const" in schema else None)
        if choices is not None and value not in choices and _coerce_int(value) not in choices:
            return leaf("BASE_TYPE_CHOICES", f"Value must be one of {tuple(choices)}.")
        if isinstance(value, str):
            return self._check_string(value, schema)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return self._check_number(value, schema)
        if isinstance(value, list):
            return self._check_array(value, schema)
        if isinstance(value, dict):
            return self._check_object(value, schema)
        return {}

    def _check_string(self, value: str, schema: dict[str, Any]) -> dict[str, Any]:
        if "integer" in (schema.get("type") or ()) and re.fullmatch(r"-?\d+", value):
            return self._check_number(int(value), schema)
        errors = _length_error(len(value), schema.get("minLength"), schema.get("maxLength"))
        if errors:
            return errors
        pattern = schema.get("pattern")
        if pattern and re.search(pattern, value) is None:
            if _is_snowflake_schema(schema):
                return leaf("NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
            return leaf("STRING_TYPE_REGEX", "String value did not match validation regex.")
        return _format_error(value, schema.get("format"))

    @staticmethod
    def _check_number(value: float, schema: dict[str, Any]) -> dict[str, Any]:
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None and value < low:
            return leaf("NUMBER_TYPE_MIN", f"int value should be greater than or equal to {low}.")
        if high is not None and value > high:
            return leaf("NUMBER_TYPE_MAX", f"int value should be less than or equal to {high}.")
        return {}

    def _check_array(self, value: list[Any], schema: dict[str, Any]) -> dict[str, Any]:
        errors = _length_error(len(value), schema.get("minItems"), schema.get("maxItems"))
        if errors:
            return errors
        items = schema.get("items")
        for index, item in enumerate(value if items else []):
            sub = self.validate(item, items)
            if sub:
                errors[str(index)] = sub
        return errors

    def _check_object(self, value: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
        errors: dict[str, Any] = {}
        props = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors[name] = leaf("BASE_TYPE_REQUIRED", "This field is required")
        extra = schema.get("additionalProperties")
        for key, item in value.items():
            sub_schema = props.get(key, extra if isinstance(extra, dict) else None)
            sub = self.validate(item, sub_schema) if sub_schema is not None else {}
            if sub:
                errors[key] = sub
        if "maxProperties" in schema and len(value) > schema["maxProperties"]:
            merge_errors(errors, _length_error(len(value), None, schema["maxProperties"]))
        return errors


def _coerce_int(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    return value


def _format_error(value: str, fmt: str | None) -> dict[str, Any]:
    if fmt == "uri":
        scheme, sep, rest = value.partition("://")
        if not sep or not rest:
            return leaf("URL_TYPE_INVALID_URL", "Not a well formed URL.")
        if scheme.lower() not in ("http", "https", "attachment"):
            return leaf(
                "URL_TYPE_INVALID_SCHEME",
                f"Scheme \"{scheme}\" is not supported. Scheme must be one of ('http', 'https').",
            )
    if fmt == "date-time":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return leaf("DATE_TIME_TYPE_PARSE", f"Could not parse {value}. Should be ISO8601.")
    return {}


# --------------------------------------------------------------------------- rate limits


@dataclass
class RateBucket:
    bucket_hash: str
    limit: int
    window: float
    count: int = 0
    reset_at: float = 0.0

    def _refresh(self, now: float) -> None:
        if now >= self.reset_at:
            self.count = 0
            self.reset_at = now + self.window

    def hit(self, now: float) -> bool:
        """Consume one request; False if the bucket is exhausted."""
        self._refresh(now)
        if self.count >= self.limit:
            return False
        self.count += 1
        return True

    def reset_after(self, now: float) -> float:
        return max(0.0, self.reset_at - now) if now < self.reset_at else self.window

    def headers(self, now: float) -> dict[str, str]:
        remaining = self.limit - self.count if now < self.reset_at else self.limit
        after = self.reset_after(now)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": f"{time.time() + after:.3f}",
            "X-RateLimit-Reset-After": f"{after:.3f}",
            "X-RateLimit-Bucket": self.bucket_hash,
        }


def rate_limited(retry_after: float, *, is_global: bool, headers: Mapping[str, str], scope: str) -> ApiError:
    body = {"message": "You are being rate limited.", "retry_after": round(retry_after, 3), "global": is_global}
    extra = {"Retry-After": str(max(1, math.ceil(retry_after))), "X-RateLimit-Scope": scope}
    if is_global:
        extra["X-RateLimit-Global"] = "true"
    return ApiError(429, body, {**headers, **extra})


MESSAGE_BUCKET_OPS = {"create_message", "execute_webhook"}
GLOBAL_EXEMPT_OPS = {"create_interaction_response"}


class RateLimiter:
    def __init__(self, message_limit: tuple[int, float], default_limit: tuple[int, float], global_limit: int | None):
        self.message_limit = message_limit
        self.default_limit = default_limit
        self.global_limit = global_limit
        self._buckets: dict[tuple[str, str], RateBucket] = {}
        self._global = RateBucket("global", global_limit or 1, 1.0)

    def bucket_for(self, match: RouteMatch) -> RateBucket:
        op = match.operation_id
        limit, window = self.message_limit if op in MESSAGE_BUCKET_OPS else self.default_limit
        bucket_hash = hashlib.md5(f"{match.method} {match.template}".encode()).hexdigest()
        key = (bucket_hash, _major_parameter(match.params))
        if key not in self._buckets:
            self._buckets[key] = RateBucket(bucket_hash, limit, window)
        return self._buckets[key]

    def check_global(self, match: RouteMatch, now: float) -> None:
        exempt = match.operation_id in GLOBAL_EXEMPT_OPS or "webhook_token" in match.params
        if self.global_limit is None or exempt or self._global.hit(now):
            return
        raise rate_limited(self._global.reset_after(now), is_global=True, headers={}, scope="global")


def _major_parameter(params: Mapping[str, str]) -> str:
    for key in ("channel_id", "guild_id", "interaction_id"):
        if key in params:
            return params[key]
    if "webhook_id" in params:
        return f"{params['webhook_id']}+{params.get('webhook_token', '')}"
    return ""


@dataclass
class _Fault:
    kind: str  # "ratelimit" | "fail" | "drop"
    remaining: int
    match: str | None
    status: int = 500
    retry_after: float = 0.2
    is_global: bool = False


# --------------------------------------------------------------------------- stored state


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any = None
    status: int = 0
    route: str | None = None
    dropped: bool = False


@dataclass
class StoredMessage:
    id: int
    channel_id: int
    data: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False
    ephemeral: bool = False
    webhook_id: int | None = None
    interaction_id: int | None = None
    by_bot: bool = True
    created_at: float = field(default_factory=time.monotonic)

    @property
    def content(self) -> str:
        return str(self.data.get("content", ""))

    @property
    def embeds(self) -> list[dict[str, Any]]:
        return list(self.data.get("embeds", []))

    @property
    def flags(self) -> int:
        return int(self.data.get("flags", 0))


@dataclass
class FakeChannel:
    id: int
    name: str
    type: int = 0
    parent_id: int | None = None
    topic: str | None = None
    can_view: bool = True
    can_send: bool = True
    can_create_threads: bool = True
    can_send_in_threads: bool = True
    can_attach_files: bool = True
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    auto_archive_duration: int = 1440
    rate_limit_per_user: int = 0
    created_at: str = field(default_factory=iso_now)
    archive_timestamp: str = field(default_factory=iso_now)
    message_count: int = 0
    last_message_id: int | None = None

    @property
    def is_thread(self) -> bool:
        return self.type in (10, 11, 12)


@dataclass
class FakeWebhook:
    id: int
    token: str
    channel_id: int
    name: str
    url: str


@dataclass
class FakeInteraction:
    id: int
    token: str
    type: int
    channel_id: int
    payload: dict[str, Any]
    created_at: float
    callbacks: list[dict[str, Any]] = field(default_factory=list)
    original_id: int | None = None
    followup_ids: list[int] = field(default_factory=list)

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)


@dataclass
class GatewaySession:
    session_id: str
    intents: int
    shard: list[int] | None
    seq: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _GatewayConn:
    ws: web.WebSocketResponse
    request: web.Request
    session: GatewaySession | None = None
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    received: deque[float] = field(default_factory=deque)
    closed: bool = False


@dataclass
class _Call:
    """One REST call as seen by a handler."""

    request: web.Request
    match: RouteMatch
    body: Any
    files: list[dict[str, Any]]

    def snowflake(self, name: str) -> int:
        return int(self.match.params[name])

    def query_bool(self, name: str, default: bool = False) -> bool:
        raw = self.request.query.get(name)
        return default if raw is None else raw.lower() in ("1", "true")


@dataclass
class _Reply:
    status: int
    body: Any = None


class _GatewayClose(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


Handler = Callable[[_Call], Awaitable[_Reply]]

# --------------------------------------------------------------------------- the fake


class FakeDiscord:
    """Loopback Discord (REST v10 + gateway). Use as ``async with FakeDiscord(...) as dc``."""

    def __init__(
        self,
        *,
        token: str = "test-bot-token",
        application_id: int = 1100000000000000001,
        guild_id: int = 1200000000000000001,
        channels: Mapping[int, Mapping[str, Any]] | None = None,
        bot_user_id: int | None = None,
        bot_username: str = "statusbot",
        heartbeat_interval: int = 41250,
        message_rate_limit: tuple[int, float] = (5, 5.0),
        default_rate_limit: tuple[int, float] = (50, 1.0),
        global_rate_limit: int | None = 50,
        interaction_deadline: float = 3.0,
        allowed_privileged_intents: int = 0,
        emit_rest_events: bool = True,
        spec_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.token = token
        self.application_id = application_id
        self.guild_id = guild_id
        self.bot_user_id = bot_user_id or application_id
        self.bot_username = bot_username
        self.heartbeat_interval = heartbeat_interval
        self.interaction_deadline = interaction_deadline
        self.allowed_privileged_intents = allowed_privileged_intents
        self.emit_rest_events = emit_rest_events
        self.nonce_window = NONCE_WINDOW
        path = spec_path or os.environ.get("DISCORD_OPENAPI_SPEC") or DEFAULT_SPEC_PATH
        self._spec = load_spec(str(path))
        self._validator = SchemaValidator(self._spec)
        self._limits = RateLimiter(message_rate_limit, default_rate_limit, global_rate_limit)
        self._ids = SnowflakeGenerator()
        self._channels: dict[int, FakeChannel] = {}
        for channel_id, options in (channels or {1300000000000000001: {"name": "incidents"}}).items():
            self._channels[int(channel_id)] = self._make_channel(int(channel_id), options)
        self._init_state()
        self._handlers = self._build_handlers()

    def _init_state(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._messages: dict[int, StoredMessage] = {}
        self._channel_messages: dict[int, list[int]] = {cid: [] for cid in self._channels}
        self.threads: list[FakeChannel] = []
        self.webhooks: dict[int, FakeWebhook] = {}
        self.interactions: dict[int, FakeInteraction] = {}
        self.global_commands: list[dict[str, Any]] = []
        self.guild_commands: dict[int, list[dict[str, Any]]] = {}
        self._faults: list[_Fault] = []
        self.identify_count = 0
        self.resume_count = 0
        self.last_identify: dict[str, Any] | None = None
        self.gateway_frames: list[dict[str, Any]] = []
        self.sessions: dict[str, GatewaySession] = {}
        self._current_session: GatewaySession | None = None
        self._conns: list[_GatewayConn] = []
        self._background: set[asyncio.Task[None]] = set()
        self._gw_lock = asyncio.Lock()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self.verify_key = secrets.token_hex(32)

    @staticmethod
    def _make_channel(channel_id: int, options: Mapping[str, Any]) -> FakeChannel:
        allowed = {"name", "type", "topic", *CHANNEL_FLAG_PERMS}
        unknown = set(options) - allowed
        if unknown:
            raise ValueError(f"unknown channel options {sorted(unknown)}; allowed: {sorted(allowed)}")
        kwargs = dict(options)
        kwargs.setdefault("name", f"channel-{channel_id}")
        kwargs.setdefault("can_send_in_threads", kwargs.get("can_send", True))
        if kwargs.get("type", 0) not in (*TEXT_CHANNEL_TYPES, FORUM_CHANNEL):
            raise ValueError("only text (0), announcement (5) and forum (15) channels are supported")
        return FakeChannel(id=channel_id, **kwargs)

    # ------------------------------------------------------------------ lifecycle

    async def __aenter__(self) -> FakeDiscord:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("GET", "/gateway", self._gateway_handler)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest_handler)
        app.router.add_route("*", "/{tail:.*}", self._unrouted_handler)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        for conn in list(self._conns):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.ws.close(code=1001, message=b"fake shutting down"), 1.0)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # ------------------------------------------------------------------ test knobs

    def ratelimit_next(
        self, n: int = 1, retry_after: float = 0.2, global_: bool = False, *, match: str | None = None
    ) -> None:
        """The next ``n`` authorised REST requests (optionally those whose ``"METHOD /path"`` starts with
        ``match``) get a 429 without being applied."""
        self._faults.append(_Fault("ratelimit", n, match, retry_after=retry_after, is_global=global_))

    def fail_next(self, n: int = 1, status: int = 500, *, match: str | None = None) -> None:
        """The next ``n`` matching requests fail with ``status`` and are not applied."""
        self._faults.append(_Fault("fail", n, match, status=status))

    def drop_response_next(self, n: int = 1, *, match: str | None = None) -> None:
        """The next ``n`` matching requests are applied, then the connection is aborted unanswered."""
        self._faults.append(_Fault("drop", n, match))

    @property
    def faults_pending(self) -> int:
        """Injected faults not yet spent on a request."""
        return sum(f.remaining for f in self._faults)

    def add_webhook(self, channel_id: int, name: str = "statusbot-hook") -> FakeWebhook:
        """Register a channel webhook usable at ``POST /webhooks/{id}/{token}``."""
        self._require_channel(channel_id)
        hook_id, token = self._ids.next(), secrets.token_urlsafe(48)
        hook = FakeWebhook(hook_id, token, channel_id, name, f"{self.api_base}/webhooks/{hook_id}/{token}")
        self.webhooks[hook_id] = hook
        return hook

    def archive_thread(self, thread_id: int, *, locked: bool = False) -> None:
        thread = self._require_channel(thread_id)
        thread.archived, thread.locked, thread.archive_timestamp = True, locked, iso_now()

    def set_channel_permissions(self, channel_id: int, **flags: bool) -> None:
        """E.g. ``set_channel_permissions(cid, can_send=False)``."""
        channel = self._require_channel(channel_id)
        for key, value in flags.items():
            if key not in CHANNEL_FLAG_PERMS:
                raise ValueError(f"unknown permission flag {key}")
            setattr(channel, key, value)

    def _require_channel(self, channel_id: int) -> FakeChannel:
        if channel_id not in self._channels:
            raise KeyError(f"unknown channel {channel_id}")
        return self._channels[channel_id]

    # ------------------------------------------------------------------ introspection

    def messages(self, channel_id: int, *, include_deleted: bool = False) -> list[StoredMessage]:
        ids = self._channel_messages.get(int(channel_id), [])
        return [self._messages[i] for i in ids if include_deleted or not self._messages[i].deleted]

    def message(self, message_id: int) -> StoredMessage:
        return self._messages[int(message_id)]

    def channel(self, channel_id: int) -> FakeChannel:
        return self._require_channel(int(channel_id))

    def thread_for_message(self, message_id: int) -> FakeChannel | None:
        return next((t for t in self.threads if t.id == int(message_id)), None)

    def requests_for(self, method: str, route: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method.upper() and r.route == route]

    @property
    def interaction_responses(self) -> dict[int, list[dict[str, Any]]]:
        return {iid: list(i.callbacks) for iid, i in self.interactions.items() if i.callbacks}

    def commands(self, guild_id: int | None = None) -> list[dict[str, Any]]:
        if guild_id is None:
            return list(self.global_commands)
        return list(self.guild_commands.get(int(guild_id), []))

    @property
    def gateway_connections(self) -> int:
        """Gateway websockets open now, from any client (Discord allows one per bot and shard)."""
        return sum(not c.closed for c in self._conns)

    @property
    def connected(self) -> bool:
        return self._attached_conn(self._current_session) is not None

    @property
    def session_id(self) -> str | None:
        return self._current_session.session_id if self._current_session else None

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
        """Poll ``predicate`` until it returns something truthy (which is returned)."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met within {timeout}s")
            await asyncio.sleep(0.01)

    # ------------------------------------------------------------------ payload builders

    def bot_user(self) -> dict[str, Any]:
        return {
            "id": str(self.bot_user_id),
            "username": self.bot_username,
            "global_name": None,
            "discriminator": "4242",
            "avatar": None,
            "bot": True,
            "system": False,
            "public_flags": 0,
            "flags": 0,
            "banner": None,
            "accent_color": None,
            "avatar_decoration_data": None,
        }

    def _bot_member(self, *, with_user: bool = True) -> dict[str, Any]:
        member: dict[str, Any] = {
            "roles": [],
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "nick": None,
            "avatar": None,
            "premium_since": None,
            "communication_disabled_until": None,
        }
        if with_user:
            member["user"] = self.bot_user()
        return member

    def _everyone_role(self) -> dict[str, Any]:
        return {
            "id": str(self.guild_id),
            "name": "@everyone",
            "permissions": str(BASE_PERMISSIONS),
            "position": 0,
            "color": 0,
            "hoist": False,
            "managed": False,
            "mentionable": False,
            "flags": 0,
            "icon": None,
            "unicode_emoji": None,
            "description": None,
        }

    def _permissions_in(self, channel: FakeChannel) -> int:
        source = self._channels.get(channel.parent_id or 0, channel) if channel.is_thread else channel
        denied = sum(bit for key, bit in CHANNEL_FLAG_PERMS.items() if not getattr(source, key))
        return BASE_PERMISSIONS & ~denied

    def _overwrites(self, channel: FakeChannel) -> list[dict[str, Any]]:
        denied = BASE_PERMISSIONS & ~self._permissions_in(channel)
        if not denied:
            return []
        return [{"id": str(self.bot_user_id), "type": 1, "allow": "0", "deny": str(denied)}]

    def channel_payload(self, channel: FakeChannel) -> dict[str, Any]:
        if channel.is_thread:
            return self._thread_payload(channel)
        return {
            "id": str(channel.id),
            "type": channel.type,
            "guild_id": str(self.guild_id),
            "name": channel.name,
            "position": list(self._channels).index(channel.id),
            "permission_overwrites": self._overwrites(channel),
            "topic": channel.topic,
            "nsfw": False,
            "rate_limit_per_user": channel.rate_limit_per_user,
            "last_message_id": _opt_str(channel.last_message_id),
            "parent_id": None,
            "flags": 0,
            "last_pin_timestamp": None,
            "default_auto_archive_duration": 1440,
            **(
                {
                    "available_tags": [],
                    "default_reaction_emoji": None,
                    "default_sort_order": None,
                    "default_forum_layout": 0,
                }
                if channel.type == FORUM_CHANNEL
                else {}
            ),
        }

    def _thread_payload(self, thread: FakeChannel) -> dict[str, Any]:
        return {
            "id": str(thread.id),
            "type": thread.type,
            "guild_id": str(self.guild_id),
            "parent_id": str(thread.parent_id),
            "owner_id": str(thread.owner_id),
            "name": thread.name,
            "last_message_id": _opt_str(thread.last_message_id),
            "message_count": thread.message_count,
            "total_message_sent": thread.message_count,
            "member_count": 1,
            "rate_limit_per_user": thread.rate_limit_per_user,
            "flags": 0,
            "applied_tags": [],
            "thread_metadata": {
                "archived": thread.archived,
                "auto_archive_duration": thread.auto_archive_duration,
                "archive_timestamp": thread.archive_timestamp,
                "locked": thread.locked,
                "create_timestamp": thread.created_at,
            },
            "member": {
                "id": str(thread.id),
                "user_id": str(self.bot_user_id),
                "join_timestamp": thread.created_at,
                "flags": 1,
            },
        }

    def guild_payload(self) -> dict[str, Any]:
        regular = [c for c in self._channels.values() if not c.is_thread]
        active_threads = [c for c in self._channels.values() if c.is_thread and not c.archived]
        return {
            "id": str(self.guild_id),
            "name": "Fake Guild",
            "icon": None,
            "splash": None,
            "discovery_splash": None,
            "owner_id": "1000000000000000001",
            "afk_channel_id": None,
            "afk_timeout": 300,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "roles": [self._everyone_role()],
            "emojis": [],
            "stickers": [],
            "features": [],
            "mfa_level": 0,
            "application_id": None,
            "system_channel_id": None,
            "system_channel_flags": 0,
            "rules_channel_id": None,
            "public_updates_channel_id": None,
            "safety_alerts_channel_id": None,
            "vanity_url_code": None,
            "description": None,
            "banner": None,
            "premium_tier": 0,
            "premium_subscription_count": 0,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
            "premium_progress_bar_enabled": False,
            "joined_at": "2024-01-01T00:00:00.000000+00:00",
            "large": False,
            "unavailable": False,
            "member_count": 2,
            "lazy": True,
            "voice_states": [],
            "members": [self._bot_member()],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "channels": [self.channel_payload(c) for c in regular],
            "threads": [self._thread_payload(t) for t in active_threads],
        }

    def application_payload(self) -> dict[str, Any]:
        owner = {
            "id": "1000000000000000001",
            "username": "owner",
            "global_name": None,
            "discriminator": "0",
            "avatar": None,
            "public_flags": 0,
            "flags": 0,
        }
        return {
            "id": str(self.application_id),
            "name": self.bot_username,
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "hook": True,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": self.verify_key,
            "flags": 1 << 23,
            "owner": owner,
            "team": None,
            "bot": self.bot_user(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "tags": [],
            "approximate_guild_count": 1,
            "rpc_origins": [],
            "integration_types_config": {"0": {}},
        }

    # ------------------------------------------------------------------ REST plumbing

    async def _unrouted_handler(self, request: web.Request) -> web.StreamResponse:
        record = RecordedRequest(request.method, request.path, dict(request.query), dict(request.headers))
        self.requests.append(record)
        record.status = 404
        return self._response(404, not_found().body, {})

    async def _rest_handler(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API_PREFIX) :] or "/"
        record = RecordedRequest(request.method, path, dict(request.query), dict(request.headers))
        self.requests.append(record)
        headers: dict[str, str] = {}
        drop: list[bool] = [False]
        try:
            reply = await self._pipeline(request, record, headers, drop)
            response = self._response(reply.status, reply.body, headers)
        except ApiError as exc:
            response = self._response(exc.status, exc.body, {**headers, **exc.headers})
        record.status = response.status
        if drop[0] and request.transport is not None:
            record.dropped = True
            request.transport.abort()
        return response

    @staticmethod
    def _response(status: int, body: Any, headers: Mapping[str, str]) -> web.Response:
        all_headers = {"Via": "1.1 google", **headers}
        if status == 204 or body is None:
            return web.Response(status=status, headers=all_headers)
        # Exactly "application/json" (no charset), as Discord sends it; discord.py's json_or_text
        # compares the header verbatim and would otherwise hand back a str.
        all_headers["Content-Type"] = "application/json"
        return web.Response(body=json.dumps(body).encode(), status=status, headers=all_headers)

    async def _pipeline(
        self, request: web.Request, record: RecordedRequest, headers: dict[str, str], drop: list[bool]
    ) -> _Reply:
        match = self._spec.match(request.method, record.path)
        if match is None:
            raise not_found()
        record.route = match.template
        bucket = self._limits.bucket_for(match)
        now = time.monotonic()
        headers.update(bucket.headers(now))
        body, files, body_error = await self._read_body(request)
        record.json = body
        self._check_auth(request, match)
        drop[0] = self._apply_faults(record, headers)
        self._limits.check_global(match, now)
        if not bucket.hit(now):
            raise rate_limited(bucket.reset_after(now), is_global=False, headers=bucket.headers(now), scope="user")
        headers.update(bucket.headers(now))
        if body_error is not None:
            raise body_error
        self._validate_parameters(match, request)
        body = self._validate_body(match, body)
        handler = self._handlers.get(match.operation_id)
        if handler is None:
            raise api_error(501, f"fake_discord: {match.method} {match.template} is not emulated", 0)
        return await handler(_Call(request, match, body, files))

    async def _read_body(self, request: web.Request) -> tuple[Any, list[dict[str, Any]], ApiError | None]:
        if request.content_type == "multipart/form-data":
            return await self._read_multipart(request)
        raw = await request.read()
        if not raw:
            return None, [], None
        try:
            return json.loads(raw), [], None
        except ValueError:
            return None, [], api_error(400, "The request body contains invalid JSON.", 50109)

    @staticmethod
    async def _read_multipart(request: web.Request) -> tuple[Any, list[dict[str, Any]], ApiError | None]:
        form = await request.post()
        files: list[dict[str, Any]] = []
        for name, value in form.items():
            if isinstance(value, web.FileField):
                data = value.file.read()
                files.append(
                    {"field": name, "filename": value.filename, "size": len(data), "content_type": value.content_type}
                )
        raw = form.get("payload_json")
        if isinstance(raw, bytes | bytearray):  # sent with its own Content-Type: Discord reads it all the same
            raw = bytes(raw).decode("utf-8", "replace")
        try:
            return (json.loads(raw) if isinstance(raw, str) else {}), files, None
        except ValueError:
            return None, files, api_error(400, "The request body contains invalid JSON.", 50109)

    def _check_auth(self, request: web.Request, match: RouteMatch) -> None:
        header = request.headers.get("Authorization")
        security = match.operation.get("security")
        optional = security is None or {} in security
        if header is None and optional:
            return
        if header != f"Bot {self.token}":
            raise api_error(401, "401: Unauthorized", 0)

    def _apply_faults(self, record: RecordedRequest, headers: Mapping[str, str]) -> bool:
        key = f"{record.method} {record.path}"
        fault = next((f for f in self._faults if f.match is None or key.startswith(f.match)), None)
        if fault is None:
            return False
        fault.remaining -= 1
        if fault.remaining <= 0:
            self._faults.remove(fault)
        if fault.kind == "ratelimit":
            limited = {**headers, "X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": f"{fault.retry_after:.3f}"}
            scope = "global" if fault.is_global else "user"
            raise rate_limited(fault.retry_after, is_global=fault.is_global, headers=limited, scope=scope)
        if fault.kind == "fail":
            raise api_error(fault.status, f"{fault.status}: Injected failure", 0)
        return True

    def _validate_parameters(self, match: RouteMatch, request: web.Request) -> None:
        errors: dict[str, Any] = {}
        for name, schema in match.parameter_schemas("path").items():
            sub = self._validator.validate(match.params.get(name), schema)
            if sub:
                errors[name] = sub
        for name, schema in match.parameter_schemas("query").items():
            if name in request.query:
                sub = self._validator.validate(_query_value(request.query[name], schema, self._spec), schema)
                if sub:
                    errors[name] = sub
        if errors:
            raise form_error(errors)

    def _validate_body(self, match: RouteMatch, body: Any) -> Any:
        schema = self._spec.json_body_schema(match.operation)
        if schema is None:
            return body
        if body is None and "object" in _types_of(self._spec.resolve(schema)):
            body = {}
        body = _strip_message_embeds(match.operation_id, body)
        errors = self._validator.validate(body, schema)
        merge_errors(errors, _extra_body_errors(match.operation_id, body))
        if errors:
            raise form_error(errors)
        return body

    # ------------------------------------------------------------------ handlers table

    def _build_handlers(self) -> dict[str, Handler]:
        return {
            "get_my_user": self._h_get_my_user,
            "get_my_application": self._h_get_my_application,
            "get_my_oauth2_application": self._h_get_my_application,
            "get_bot_gateway": self._h_get_bot_gateway,
            "get_gateway": self._h_get_gateway,
            "get_channel": self._h_get_channel,
            "list_messages": self._h_list_messages,
            "create_message": self._h_create_message,
            "get_message": self._h_get_message,
            "update_message": self._h_update_message,
            "delete_message": self._h_delete_message,
            "create_thread_from_message": self._h_create_thread,
            "list_application_commands": self._h_list_commands,
            "bulk_set_application_commands": self._h_put_commands,
            "list_guild_application_commands": self._h_list_commands,
            "bulk_set_guild_application_commands": self._h_put_commands,
            "create_interaction_response": self._h_interaction_callback,
            "execute_webhook": self._h_execute_webhook,
            "get_original_webhook_message": self._h_get_webhook_message,
            "update_original_webhook_message": self._h_update_webhook_message,
            "delete_original_webhook_message": self._h_delete_webhook_message,
            "get_webhook_message": self._h_get_webhook_message,
            "update_webhook_message": self._h_update_webhook_message,
            "delete_webhook_message": self._h_delete_webhook_message,
        }

    # ------------------------------------------------------------------ simple GETs

    async def _h_get_my_user(self, call: _Call) -> _Reply:
        return _Reply(
            200, {**self.bot_user(), "verified": True, "mfa_enabled": False, "locale": "en-US", "email": None}
        )

    async def _h_get_my_application(self, call: _Call) -> _Reply:
        return _Reply(200, self.application_payload())

    async def _h_get_bot_gateway(self, call: _Call) -> _Reply:
        limit = {
            "total": 1000,
            "remaining": 1000 - self.identify_count,
            "reset_after": 86_400_000,
            "max_concurrency": 1,
        }
        return _Reply(200, {"url": self.gateway_url, "shards": 1, "session_start_limit": limit})

    async def _h_get_gateway(self, call: _Call) -> _Reply:
        return _Reply(200, {"url": self.gateway_url})

    async def _h_get_channel(self, call: _Call) -> _Reply:
        return _Reply(200, self.channel_payload(self._visible_channel(call.snowflake("channel_id"))))

    # ------------------------------------------------------------------ channel access

    def _visible_channel(self, channel_id: int) -> FakeChannel:
        channel = self._channels.get(channel_id)
        if channel is None:
            raise unknown_channel()
        if not self._permissions_in(channel) & PERM_VIEW_CHANNEL:
            raise missing_access()
        return channel

    def _require_perm(self, channel: FakeChannel, perm: int) -> None:
        if not self._permissions_in(channel) & perm:
            raise missing_permissions()

    def _open_thread_for_post(self, channel: FakeChannel) -> None:
        if not channel.is_thread or not channel.archived:
            return
        if channel.locked:
            raise api_error(400, "Thread is locked", 160005)
        channel.archived = False

    def _sendable_channel(self, channel_id: int) -> FakeChannel:
        channel = self._visible_channel(channel_id)
        self._require_perm(channel, PERM_SEND_MESSAGES_IN_THREADS if channel.is_thread else PERM_SEND_MESSAGES)
        self._open_thread_for_post(channel)
        return channel

    def _channel_message(self, channel: FakeChannel, message_id: int) -> StoredMessage:
        message = self._messages.get(message_id)
        if message is None or message.deleted or message.channel_id != channel.id or message.ephemeral:
            raise unknown_message()
        return message

    # ------------------------------------------------------------------ messages

    async def _h_create_message(self, call: _Call) -> _Reply:
        channel = self._sendable_channel(call.snowflake("channel_id"))
        if call.files:
            self._require_perm(channel, PERM_ATTACH_FILES)
        if channel.type == FORUM_CHANNEL:
            raise api_error(400, "Cannot send messages in a non-text channel", 50008)
        body = call.body
        if message_is_empty(body) and not call.files:
            raise empty_message()
        earlier = self._same_nonce(body)
        if earlier is not None:
            return _Reply(200, earlier.data)
        reference = self._resolve_reference(channel, body.get("message_reference"))
        data = self._build_message(
            channel, body, call.files, author=self.bot_user(), flags=int(body.get("flags") or 0) & CREATE_FLAGS
        )
        if reference is not None:
            data.update(
                type=19,
                message_reference=_reference_payload(reference, self.guild_id),
                referenced_message=copy.deepcopy(reference.data),
            )
        message = self._store(channel, data)
        await self._emit_message("MESSAGE_CREATE", message)
        return _Reply(200, message.data)

    def _same_nonce(self, body: Mapping[str, Any]) -> StoredMessage | None:
        """With ``enforce_nonce``, the bot's own recent message that carried this nonce, if any."""
        nonce = body.get("nonce")
        if nonce is None or not body.get("enforce_nonce"):
            return None
        since = time.monotonic() - self.nonce_window
        for message in reversed(self._messages.values()):
            if message.created_at < since:
                break
            same = str(message.data.get("nonce")) == str(nonce) and message.by_bot and message.webhook_id is None
            if same and not message.deleted:
                return message
        return None

    def _resolve_reference(self, channel: FakeChannel, ref: Any) -> StoredMessage | None:
        if not isinstance(ref, dict):
            return None
        target = self._messages.get(int(ref["message_id"]))
        ok = target is not None and not target.deleted and target.channel_id == channel.id
        if ok or ref.get("fail_if_not_exists") is False:
            return target if ok else None
        raise form_error({"message_reference": leaf("MESSAGE_REFERENCE_UNKNOWN_MESSAGE", "Unknown message")})

    def _build_message(
        self,
        channel: FakeChannel,
        body: Mapping[str, Any],
        files: list[dict[str, Any]],
        *,
        author: dict[str, Any],
        flags: int = 0,
        msg_type: int = 0,
    ) -> dict[str, Any]:
        message_id = self._ids.next()
        data: dict[str, Any] = {
            "id": str(message_id),
            "type": msg_type,
            "channel_id": str(channel.id),
            "author": author,
            "content": body.get("content") or "",
            "timestamp": iso_now(),
            "edited_timestamp": None,
            "tts": bool(body.get("tts")),
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": self._attachments(files),
            "embeds": _embeds_of(body),
            "pinned": False,
            "flags": flags,
            "components": body.get("components") or [],
        }
        if body.get("nonce") is not None:
            data["nonce"] = body["nonce"]
        if channel.is_thread:
            data["position"] = channel.message_count
        return data

    def _attachments(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        out = []
        for item in files:
            attachment_id = self._ids.next()
            url = f"{self.api_base}/attachments/{attachment_id}/{item['filename']}"
            out.append(
                {
                    "id": str(attachment_id),
                    "filename": item["filename"],
                    "size": item["size"],
                    "url": url,
                    "proxy_url": url,
                    "content_type": item["content_type"],
                }
            )
        return out

    def _store(self, channel: FakeChannel, data: dict[str, Any], **kwargs: Any) -> StoredMessage:
        message = StoredMessage(id=int(data["id"]), channel_id=channel.id, data=data, **kwargs)
        self._messages[message.id] = message
        if not message.ephemeral:
            self._channel_messages.setdefault(channel.id, []).append(message.id)
            channel.last_message_id = message.id
            channel.message_count += 1 if channel.is_thread else 0
        return message

    async def _h_get_message(self, call: _Call) -> _Reply:
        channel = self._visible_channel(call.snowflake("channel_id"))
        self._require_perm(channel, PERM_READ_MESSAGE_HISTORY)
        return _Reply(200, self._channel_message(channel, call.snowflake("message_id")).data)

    async def _h_list_messages(self, call: _Call) -> _Reply:
        channel = self._visible_channel(call.snowflake("channel_id"))
        self._require_perm(channel, PERM_READ_MESSAGE_HISTORY)
        query = call.request.query
        items = self.messages(channel.id)
        if "before" in query:
            items = [m for m in items if m.id < int(query["before"])]
        if "after" in query:
            items = [m for m in items if m.id > int(query["after"])]
        limit = int(query.get("limit", 50))
        newest_first = sorted(items, key=lambda m: m.id, reverse=True)
        return _Reply(200, [m.data for m in newest_first[:limit]])

    async def _h_update_message(self, call: _Call) -> _Reply:
        channel = self._visible_channel(call.snowflake("channel_id"))
        message = self._channel_message(channel, call.snowflake("message_id"))
        if not message.by_bot or message.webhook_id is not None:
            raise api_error(403, "Cannot edit a message authored by another user", 50005)
        self._reject_archived(channel)
        self._apply_edit(message, call.body, call.files)
        await self._emit_message("MESSAGE_UPDATE", message)
        return _Reply(200, message.data)

    def _reject_archived(self, channel: FakeChannel) -> None:
        if channel.is_thread and channel.archived:
            raise api_error(400, "Thread is archived", 50083)

    def _apply_edit(self, message: StoredMessage, body: Mapping[str, Any], files: list[dict[str, Any]]) -> None:
        new = copy.deepcopy(message.data)
        if "content" in body:
            new["content"] = body["content"] or ""
        if "embeds" in body:
            new["embeds"] = _embeds_of(body)
        if "components" in body:
            new["components"] = body["components"] or []
        if "attachments" in body or files:
            keep = {str(a.get("id")) for a in body.get("attachments") or [] if isinstance(a, dict)}
            new["attachments"] = [a for a in new["attachments"] if a["id"] in keep] + self._attachments(files)
        if body.get("flags") is not None:
            toggled = int(body["flags"]) & FLAG_SUPPRESS_EMBEDS
            new["flags"] = (new["flags"] & ~FLAG_SUPPRESS_EMBEDS) | toggled
        new["flags"] &= ~FLAG_LOADING
        if message_is_empty(new):
            raise empty_message()
        new["edited_timestamp"] = iso_now()
        message.history.append(message.data)
        message.data = new

    async def _h_delete_message(self, call: _Call) -> _Reply:
        channel = self._visible_channel(call.snowflake("channel_id"))
        message = self._channel_message(channel, call.snowflake("message_id"))
        if not message.by_bot or message.webhook_id is not None:
            raise missing_permissions()
        message.deleted = True
        await self._emit(
            "MESSAGE_DELETE",
            {"id": str(message.id), "channel_id": str(channel.id), "guild_id": str(self.guild_id)},
            INTENT_GUILD_MESSAGES,
        )
        return _Reply(204)

    # ------------------------------------------------------------------ threads

    async def _h_create_thread(self, call: _Call) -> _Reply:
        parent = self._visible_channel(call.snowflake("channel_id"))
        if parent.is_thread or parent.type not in TEXT_CHANNEL_TYPES:
            raise api_error(400, "Cannot execute action on this channel type", 50024)
        self._require_perm(parent, PERM_CREATE_PUBLIC_THREADS)
        starter = self._channel_message(parent, call.snowflake("message_id"))
        if starter.id in self._channels:
            raise api_error(400, "A thread has already been created for this message", 160004)
        thread = self._new_thread(parent, starter, call.body)
        starter.data["flags"] = starter.flags | FLAG_HAS_THREAD
        starter.data["thread"] = self._thread_payload(thread)
        payload = {**self._thread_payload(thread), "newly_created": True}
        await self._emit("THREAD_CREATE", payload, INTENT_GUILDS)
        return _Reply(201, self._thread_payload(thread))

    def _new_thread(self, parent: FakeChannel, starter: StoredMessage, body: Mapping[str, Any]) -> FakeChannel:
        thread = FakeChannel(
            id=starter.id,
            name=body["name"],
            type=PUBLIC_THREAD,
            parent_id=parent.id,
            owner_id=self.bot_user_id,
            auto_archive_duration=int(body.get("auto_archive_duration") or 1440),
            rate_limit_per_user=int(body.get("rate_limit_per_user") or 0),
        )
        self._channels[thread.id] = thread
        self._channel_messages[thread.id] = []
        self.threads.append(thread)
        return thread

    # ------------------------------------------------------------------ application commands

    def _command_scope(self, call: _Call) -> tuple[list[dict[str, Any]], int | None]:
        if call.snowflake("application_id") != self.application_id:
            raise missing_access()
        if "guild_id" not in call.match.params:
            return self.global_commands, None
        guild_id = call.snowflake("guild_id")
        if guild_id != self.guild_id:
            raise missing_access()
        return self.guild_commands.setdefault(guild_id, []), guild_id

    async def _h_list_commands(self, call: _Call) -> _Reply:
        commands, _ = self._command_scope(call)
        return _Reply(200, copy.deepcopy(commands))

    async def _h_put_commands(self, call: _Call) -> _Reply:
        existing, guild_id = self._command_scope(call)
        payload = call.body or []
        errors: dict[str, Any] = {}
        for index, command in enumerate(payload):
            merge_errors(errors, _command_errors(index, command))
        merge_errors(errors, _duplicate_command_errors(payload))
        if errors:
            raise form_error(errors)
        stored = [self._stored_command(c, existing, guild_id) for c in payload]
        existing[:] = stored
        return _Reply(200, copy.deepcopy(stored))

    def _stored_command(
        self, command: dict[str, Any], existing: list[dict[str, Any]], guild_id: int | None
    ) -> dict[str, Any]:
        ctype = int(command.get("type") or 1)
        old = next((c for c in existing if c["name"] == command["name"] and c["type"] == ctype), None)
        perms = command.get("default_member_permissions")
        stored = {
            "id": old["id"] if old else str(self._ids.next()),
            "application_id": str(self.application_id),
            "version": str(self._ids.next()),
            "type": ctype,
            "name": command["name"],
            "name_localizations": command.get("name_localizations"),
            "description": command.get("description") or "",
            "description_localizations": command.get("description_localizations"),
            "default_member_permissions": None if perms is None else str(perms),
            "dm_permission": command.get("dm_permission", True),
            "nsfw": bool(command.get("nsfw")),
            "contexts": command.get("contexts"),
            "integration_types": command.get("integration_types") or [0],
            "options": command.get("options") or [],
        }
        if guild_id is not None:
            stored["guild_id"] = str(guild_id)
        return stored

    def _find_command(self, name: str, ctype: int) -> dict[str, Any] | None:
        for command in [*self.guild_commands.get(self.guild_id, []), *self.global_commands]:
            if command["name"] == name and command["type"] == ctype:
                return command
        return None

    # ------------------------------------------------------------------ interactions

    def _interaction(self, interaction_id: int, token: str) -> FakeInteraction:
        interaction = self.interactions.get(interaction_id)
        if interaction is None or interaction.token != token:
            raise unknown_interaction()
        return interaction

    async def _h_interaction_callback(self, call: _Call) -> _Reply:
        interaction = self._interaction(call.snowflake("interaction_id"), call.match.params["interaction_token"])
        if time.monotonic() - interaction.created_at > self.interaction_deadline:
            raise unknown_interaction()
        if interaction.acknowledged:
            raise api_error(400, "Interaction has already been acknowledged.", 40060)
        body = call.body
        allowed = CALLBACKS_BY_INTERACTION.get(interaction.type, set())
        if body["type"] not in allowed:
            raise form_error({"type": leaf("BASE_TYPE_CHOICES", f"Value must be one of {tuple(sorted(allowed))}.")})
        interaction.callbacks.append(copy.deepcopy(body))
        message = await self._callback_message(interaction, body, call.files)
        if not call.query_bool("with_response"):
            return _Reply(204)
        return _Reply(200, self._callback_response(interaction, body["type"], message))

    async def _callback_message(
        self, interaction: FakeInteraction, body: Mapping[str, Any], files: list[dict[str, Any]]
    ) -> StoredMessage | None:
        ctype, data = body["type"], body.get("data") or {}
        if ctype == 4 and message_is_empty(data) and not files:
            raise empty_message()
        if ctype in (4, 5):
            flags = int(data.get("flags") or 0) & INTERACTION_FLAGS
            flags |= FLAG_LOADING if ctype == 5 else 0
            data = data if ctype == 4 else {}
            message = self._interaction_message(interaction, data, files, flags=flags, msg_type=20)
            interaction.original_id = message.id
            await self._emit_message("MESSAGE_CREATE", message)
            return message
        message = self._component_message(interaction) if ctype == 7 else None
        if message is not None:
            self._apply_edit(message, data, files)
            await self._emit_message("MESSAGE_UPDATE", message)
        return message

    def _component_message(self, interaction: FakeInteraction) -> StoredMessage | None:
        raw = interaction.payload.get("message") or {}
        return self._messages.get(int(raw["id"])) if raw.get("id") else None

    def _interaction_message(
        self,
        interaction: FakeInteraction,
        body: Mapping[str, Any],
        files: list[dict[str, Any]],
        *,
        flags: int,
        msg_type: int,
    ) -> StoredMessage:
        channel = self._channels[interaction.channel_id]
        data = self._build_message(channel, body, files, author=self.bot_user(), flags=flags, msg_type=msg_type)
        data.update(webhook_id=str(self.application_id), application_id=str(self.application_id))
        data["interaction_metadata"] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "user": interaction.payload["member"]["user"],
            "authorizing_integration_owners": {},
        }
        return self._store(
            channel,
            data,
            ephemeral=bool(flags & FLAG_EPHEMERAL),
            webhook_id=self.application_id,
            interaction_id=interaction.id,
        )

    def _callback_response(
        self, interaction: FakeInteraction, ctype: int, message: StoredMessage | None
    ) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": str(interaction.id),
            "type": interaction.type,
            "channel_id": str(interaction.channel_id),
            "guild_id": str(self.guild_id),
        }
        if message is not None:
            info.update(
                response_message_id=str(message.id),
                response_message_loading=bool(message.flags & FLAG_LOADING),
                response_message_ephemeral=message.ephemeral,
            )
        response: dict[str, Any] = {"interaction": info}
        if message is not None:
            response["resource"] = {"type": ctype, "message": message.data}
        return response

    # ------------------------------------------------------------------ webhooks

    def _webhook(self, call: _Call) -> FakeWebhook:
        hook = self.webhooks.get(call.snowflake("webhook_id"))
        if hook is None:
            raise unknown_webhook()
        if hook.token != call.match.params["webhook_token"]:
            raise api_error(401, "Invalid Webhook Token", 50027)
        return hook

    def _interaction_for_webhook(self, call: _Call) -> FakeInteraction:
        token = call.match.params["webhook_token"]
        found = next((i for i in self.interactions.values() if i.token == token), None)
        if found is None or not found.acknowledged:
            raise unknown_webhook()
        return found

    def _is_interaction_webhook(self, call: _Call) -> bool:
        return call.snowflake("webhook_id") == self.application_id

    async def _h_execute_webhook(self, call: _Call) -> _Reply:
        if self._is_interaction_webhook(call):
            return await self._followup(call)
        hook = self._webhook(call)
        if message_is_empty(call.body) and not call.files:
            raise empty_message()
        thread_name = call.body.get("thread_name")
        channel = self._webhook_target(hook, call.request.query.get("thread_id"), thread_name)
        if thread_name:
            channel = await self._new_forum_post(channel, thread_name, hook)
        author = {
            "id": str(hook.id),
            "username": call.body.get("username") or hook.name,
            "avatar": None,
            "discriminator": "0000",
            "bot": True,
            "global_name": None,
            "public_flags": 0,
        }
        data = self._build_message(
            channel, call.body, call.files, author=author, flags=int(call.body.get("flags") or 0) & CREATE_FLAGS
        )
        data["webhook_id"] = str(hook.id)
        if thread_name:
            data["id"] = str(channel.id)  # a forum post's starter message has the thread's id
        message = self._store(channel, data, webhook_id=hook.id, by_bot=False)
        await self._emit_message("MESSAGE_CREATE", message)
        return _Reply(200, message.data) if call.query_bool("wait") else _Reply(204)

    def _webhook_target(self, hook: FakeWebhook, thread_id: str | None, thread_name: Any = None) -> FakeChannel:
        home = self._channels[hook.channel_id]
        if thread_name and thread_id is not None:
            raise api_error(
                400, "Webhooks posted to forum channels cannot have both a thread_name and thread_id", 220002
            )
        if thread_name and home.type != FORUM_CHANNEL:
            raise api_error(400, "Webhooks can only create threads in forum channels", 220003)
        if thread_id is None and not thread_name and home.type == FORUM_CHANNEL:
            raise api_error(400, "Webhooks posted to forum channels must have a thread_name or thread_id", 220001)
        if thread_id is None:
            return home
        thread = self._channels.get(int(thread_id))
        if thread is None or thread.parent_id != hook.channel_id:
            raise unknown_channel()
        self._open_thread_for_post(thread)
        return thread

    async def _new_forum_post(self, forum: FakeChannel, name: Any, hook: FakeWebhook) -> FakeChannel:
        thread = FakeChannel(
            id=self._ids.next(), name=str(name)[:100], type=PUBLIC_THREAD, parent_id=forum.id, owner_id=hook.id
        )
        self._channels[thread.id] = thread
        self._channel_messages[thread.id] = []
        self.threads.append(thread)
        await self._emit("THREAD_CREATE", {**self._thread_payload(thread), "newly_created": True}, INTENT_GUILDS)
        return thread

    async def _followup(self, call: _Call) -> _Reply:
        interaction = self._interaction_for_webhook(call)
        if message_is_empty(call.body) and not call.files:
            raise empty_message()
        flags = int(call.body.get("flags") or 0) & INTERACTION_FLAGS
        message = self._interaction_message(interaction, call.body, call.files, flags=flags, msg_type=0)
        interaction.followup_ids.append(message.id)
        await self._emit_message("MESSAGE_CREATE", message)
        return _Reply(200, message.data)

    def _webhook_message(self, call: _Call) -> StoredMessage:
        raw_id = call.match.params.get("message_id")
        if self._is_interaction_webhook(call):
            interaction = self._interaction_for_webhook(call)
            allowed = [interaction.original_id, *interaction.followup_ids]
            message_id = interaction.original_id if raw_id is None else int(raw_id)
        else:
            hook = self._webhook(call)
            thread_id = call.request.query.get("thread_id")
            home = int(thread_id) if thread_id else hook.channel_id
            allowed = [m.id for m in self._messages.values() if m.webhook_id == hook.id and m.channel_id == home]
            message_id = None if raw_id is None else int(raw_id)
        message = self._messages.get(message_id or 0)
        if message is None or message.id not in allowed or message.deleted:
            raise unknown_message()
        return message

    async def _h_get_webhook_message(self, call: _Call) -> _Reply:
        return _Reply(200, self._webhook_message(call).data)

    async def _h_update_webhook_message(self, call: _Call) -> _Reply:
        message = self._webhook_message(call)
        self._reject_archived(self._channels[message.channel_id])
        self._apply_edit(message, call.body, call.files)
        await self._emit_message("MESSAGE_UPDATE", message)
        return _Reply(200, message.data)

    async def _h_delete_webhook_message(self, call: _Call) -> _Reply:
        message = self._webhook_message(call)
        message.deleted = True
        return _Reply(204)

    # ------------------------------------------------------------------ gateway: public API

    async def dispatch(self, event: str, data: Any) -> int:
        """Send an op-0 dispatch (next seq) on the current session; buffered for RESUME if detached."""
        session = self._current_session
        if session is None:
            raise RuntimeError("no gateway session (the client has not IDENTIFYed yet)")
        async with self._gw_lock:
            return await self._dispatch_locked(session, event, data)

    def slash_command_payload(
        self, name: str, options: list[dict[str, Any]] | None = None, *, channel_id: int | None = None
    ) -> dict[str, Any]:
        """A minimal APPLICATION_COMMAND interaction; ``send_interaction`` fills in the rest."""
        payload: dict[str, Any] = {"type": 2, "data": {"name": name, "type": 1, "options": options or []}}
        if channel_id is not None:
            payload["channel_id"] = str(channel_id)
        return payload

    async def send_interaction(
        self, payload: Mapping[str, Any], *, channel_id: int | None = None, require_registered: bool = True
    ) -> FakeInteraction:
        """Complete ``payload`` into a full Interaction and dispatch it as INTERACTION_CREATE.

        The fake's guild/application ids always win. The channel is ``channel_id``, else
        ``payload["channel_id"]``, else the first configured channel, and it must be one of the
        fake's channels. For slash commands the command must be registered (bulk overwrite) unless
        ``require_registered=False``; its id, type and ``guild_id`` are copied in, as Discord does.
        """
        data = self._complete_interaction(copy.deepcopy(dict(payload)), channel_id)
        if data["type"] in (2, 4):
            self._attach_command(data, require_registered)
        interaction = FakeInteraction(
            id=int(data["id"]),
            token=data["token"],
            type=int(data["type"]),
            channel_id=int(data["channel_id"]),
            payload=data,
            created_at=time.monotonic(),
        )
        if interaction.id in self.interactions:
            raise ValueError(f"interaction id {interaction.id} already used")
        self.interactions[interaction.id] = interaction
        await self.dispatch("INTERACTION_CREATE", data)
        return interaction

    def _complete_interaction(self, data: dict[str, Any], channel_id: int | None) -> dict[str, Any]:
        cid = int(channel_id or data.get("channel_id") or next(iter(self._channels)))
        if cid not in self._channels:
            raise ValueError(f"channel {cid} is not one of the fake's channels")
        channel = self._channels[cid]
        data.setdefault("id", str(self._ids.next()))
        data.setdefault("token", "aW50ZXJhY3Rpb246" + secrets.token_urlsafe(64))
        data.setdefault("type", 2)
        data.update(
            application_id=str(self.application_id),
            guild_id=str(self.guild_id),
            channel_id=str(cid),
            channel=self.channel_payload(channel),
            version=1,
            app_permissions=str(self._permissions_in(channel)),
            guild={"id": str(self.guild_id), "locale": "en-US", "features": []},
        )
        defaults = {
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "context": 0,
            "authorizing_integration_owners": {"0": str(self.guild_id)},
            "attachment_size_limit": 26_214_400,
        }
        for key, value in defaults.items():
            data.setdefault(key, value)
        data["member"] = _complete_member(data.get("member") or {})
        return data

    def _attach_command(self, data: dict[str, Any], require_registered: bool) -> None:
        inner = data.setdefault("data", {})
        inner.setdefault("type", 1)
        command = self._find_command(inner.get("name", ""), int(inner["type"]))
        if command is None:
            if require_registered:
                raise ValueError(f"command {inner.get('name')!r} is not registered with the fake")
            inner.setdefault("id", str(self._ids.next()))
            return
        inner["id"] = command["id"]
        if "guild_id" in command:
            inner["guild_id"] = command["guild_id"]

    async def disconnect_client(self, code: int | None = 4000, reason: str = "fake disconnect") -> None:
        """Close the current client connection (``code=None``: drop the TCP connection, no close frame).
        The session stays resumable; dispatches sent meanwhile are replayed on RESUME."""
        conn = self._attached_conn(self._current_session)
        if conn is None:
            raise RuntimeError("no connected gateway client")
        conn.session = None
        if code is None:
            conn.closed = True
            if conn.request.transport is not None:
                conn.request.transport.abort()
            return
        await self._close_conn(conn, code, reason)

    async def invalidate_session(self, *, resumable: bool = False) -> None:
        """Send op 9 (INVALID_SESSION). Non-resumable also forgets the session server-side."""
        session = self._current_session
        conn = self._attached_conn(session)
        if conn is None or session is None:
            raise RuntimeError("no connected gateway client")
        if not resumable:
            self.sessions.pop(session.session_id, None)
            self._current_session = None
        await self._send_frame(conn, _frame(9, resumable))

    async def request_reconnect(self) -> None:
        """Send op 7 (RECONNECT); the client closes and RESUMEs."""
        conn = self._attached_conn(self._current_session)
        if conn is None:
            raise RuntimeError("no connected gateway client")
        await self._send_frame(conn, _frame(7, None))

    # ------------------------------------------------------------------ gateway: connection

    async def _gateway_handler(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        conn = _GatewayConn(ws=ws, request=request)
        self._conns.append(conn)
        try:
            await self._serve_gateway(conn)
        except _GatewayClose as exc:
            await self._close_conn(conn, exc.code, exc.reason)
        finally:
            conn.closed = True
            conn.session = None
            self._conns.remove(conn)
        return ws

    async def _serve_gateway(self, conn: _GatewayConn) -> None:
        _check_gateway_query(conn.request)
        await self._send_frame(
            conn,
            _frame(10, {"heartbeat_interval": self.heartbeat_interval, "_trace": ['["fake-gateway",{"micros":0}]']}),
        )
        async for msg in conn.ws:
            if msg.type == WSMsgType.TEXT:
                await self._on_frame(conn, msg.data)
            elif msg.type == WSMsgType.BINARY:
                raise _GatewayClose(4002, "Error while decoding payload.")
            else:
                break

    async def _close_conn(self, conn: _GatewayConn, code: int, reason: str) -> None:
        conn.closed = True
        conn.session = None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.ws.close(code=code, message=reason.encode()), 5.0)

    async def _send_frame(self, conn: _GatewayConn, frame: dict[str, Any]) -> None:
        if conn.closed or conn.ws.closed:
            return
        async with conn.send_lock:
            try:
                await conn.ws.send_str(json.dumps(frame))
            except (ConnectionError, RuntimeError):
                conn.closed = True

    def _attached_conn(self, session: GatewaySession | None) -> _GatewayConn | None:
        if session is None:
            return None
        return next((c for c in self._conns if c.session is session and not c.closed), None)

    async def _dispatch_locked(self, session: GatewaySession, event: str, data: Any) -> int:
        session.seq += 1
        frame = {"op": 0, "t": event, "s": session.seq, "d": data}
        session.events.append(frame)
        conn = self._attached_conn(session)
        if conn is not None:
            await self._send_frame(conn, frame)
        return session.seq

    async def _emit(self, event: str, data: dict[str, Any], intent: int) -> None:
        session = self._current_session
        if not self.emit_rest_events or session is None or not session.intents & intent:
            return
        async with self._gw_lock:
            await self._dispatch_locked(session, event, data)

    async def _emit_message(self, event: str, message: StoredMessage) -> None:
        if message.ephemeral:
            return
        data = {**message.data, "guild_id": str(self.guild_id)}
        if message.by_bot:
            data["member"] = self._bot_member(with_user=False)
        await self._emit(event, data, INTENT_GUILD_MESSAGES)

    # ------------------------------------------------------------------ gateway: opcodes

    async def _on_frame(self, conn: _GatewayConn, raw: str) -> None:
        self._count_frame(conn)
        try:
            frame = json.loads(raw)
        except ValueError:
            raise _GatewayClose(4002, "Error while decoding payload.") from None
        if not isinstance(frame, dict) or not isinstance(frame.get("op"), int):
            raise _GatewayClose(4002, "Error while decoding payload.")
        self.gateway_frames.append(frame)
        op, data = frame["op"], frame.get("d")
        if op == 1:
            await self._on_heartbeat(conn, data)
        elif op == 2:
            await self._on_identify(conn, data)
        elif op == 6:
            await self._on_resume(conn, data)
        elif op in (3, 4, 8):
            if conn.session is None:
                raise _GatewayClose(4003, "Not authenticated.")
        else:
            raise _GatewayClose(4001, "Unknown opcode.")

    @staticmethod
    def _count_frame(conn: _GatewayConn) -> None:
        now = time.monotonic()
        conn.received.append(now)
        while conn.received and now - conn.received[0] > 60:
            conn.received.popleft()
        if len(conn.received) > 120:
            raise _GatewayClose(4008, "Rate limited.")

    async def _on_heartbeat(self, conn: _GatewayConn, data: Any) -> None:
        if data is not None and (not isinstance(data, int) or isinstance(data, bool)):
            raise _GatewayClose(4002, "Error while decoding payload.")
        await self._send_frame(conn, _frame(11, None))

    def _check_token(self, token: Any) -> None:
        if not isinstance(token, str) or token.removeprefix("Bot ") != self.token:
            raise _GatewayClose(4004, "Authentication failed.")

    async def _on_identify(self, conn: _GatewayConn, data: Any) -> None:
        if conn.session is not None:
            raise _GatewayClose(4005, "Already authenticated.")
        _check_identify_shape(data)
        self._check_token(data["token"])
        intents = data.get("intents")
        if not isinstance(intents, int) or isinstance(intents, bool) or intents & ~VALID_INTENTS or intents < 0:
            raise _GatewayClose(4013, "Invalid intent(s).")
        if intents & PRIVILEGED_INTENTS & ~self.allowed_privileged_intents:
            raise _GatewayClose(4014, "Disallowed intent(s).")
        shard = _check_shard(data.get("shard"))
        session = GatewaySession(secrets.token_hex(16), intents, shard)
        self.sessions[session.session_id] = session
        self.identify_count += 1
        self.last_identify = {k: v for k, v in data.items() if k != "token"}
        async with self._gw_lock:
            self._current_session = session
            conn.session = session
            await self._dispatch_locked(session, "READY", self._ready_payload(session))
            if intents & INTENT_GUILDS:
                await self._dispatch_locked(session, "GUILD_CREATE", self.guild_payload())

    def _ready_payload(self, session: GatewaySession) -> dict[str, Any]:
        ready: dict[str, Any] = {
            "v": 10,
            "user": {**self.bot_user(), "verified": True, "mfa_enabled": False, "email": None},
            "user_settings": {},
            "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": session.session_id,
            "session_type": "normal",
            "resume_gateway_url": self.gateway_url,
            "private_channels": [],
            "relationships": [],
            "presences": [],
            "guild_join_requests": [],
            "geo_ordered_rtc_regions": ["fake"],
            "application": {"id": str(self.application_id), "flags": 1 << 23},
            "auth": {},
            "_trace": ['["fake-gateway",{"micros":0}]'],
        }
        if session.shard is not None:
            ready["shard"] = session.shard
        return ready

    async def _on_resume(self, conn: _GatewayConn, data: Any) -> None:
        if conn.session is not None:
            raise _GatewayClose(4005, "Already authenticated.")
        if not isinstance(data, dict) or not isinstance(data.get("session_id"), str):
            raise _GatewayClose(4002, "Error while decoding payload.")
        self._check_token(data.get("token"))
        session = self.sessions.get(data["session_id"])
        seq = data.get("seq")
        if session is None or not isinstance(seq, int):
            await self._send_frame(conn, _frame(9, False))
            return
        if seq > session.seq:
            raise _GatewayClose(4007, "Invalid seq.")
        await self._resume_session(conn, session, seq)

    async def _resume_session(self, conn: _GatewayConn, session: GatewaySession, seq: int) -> None:
        async with self._gw_lock:
            previous = self._attached_conn(session)
            if previous is not None:
                previous.session = None
                task = asyncio.create_task(self._close_conn(previous, 4000, "Session resumed elsewhere."))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            conn.session = session
            self._current_session = session
            for frame in [f for f in session.events if f["s"] > seq]:
                await self._send_frame(conn, frame)
            self.resume_count += 1
            await self._dispatch_locked(session, "RESUMED", {"_trace": ['["fake-gateway",{"micros":0}]']})


# --------------------------------------------------------------------------- module helpers


def _frame(op: int, data: Any) -> dict[str, Any]:
    return {"op": op, "d": data, "s": None, "t": None}


def _opt_str(value: int | None) -> str | None:
    return None if value is None else str(value)


def _types_of(schema: Mapping[str, Any]) -> list[str]:
    kinds = schema.get("type") or []
    return [kinds] if isinstance(kinds, str) else list(kinds)


def _query_value(raw: str, schema: dict[str, Any], spec: OpenApiSpec) -> Any:
    kinds = _types_of(spec.resolve(schema))
    if "boolean" in kinds:
        lowered = raw.lower()
        return {"true": True, "1": True, "false": False, "0": False}.get(lowered, raw)
    return raw


def _embeds_of(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [normalize_embed(e) for e in body.get("embeds") or [] if isinstance(e, dict)]


MESSAGE_BODY_OPS = {
    "create_message",
    "update_message",
    "execute_webhook",
    "update_original_webhook_message",
    "update_webhook_message",
}


def _strip_message_embeds(operation_id: str, body: Any) -> Any:
    target = _message_part(operation_id, body)
    if target is not None and isinstance(target.get("embeds"), list):
        target["embeds"] = [strip_embed(e) for e in target["embeds"]]
    return body


def _message_part(operation_id: str, body: Any) -> dict[str, Any] | None:
    if not isinstance(body, dict):
        return None
    if operation_id in MESSAGE_BODY_OPS:
        return body
    if operation_id == "create_interaction_response" and body.get("type") in MESSAGE_CALLBACKS:
        data = body.get("data")
        return data if isinstance(data, dict) else None
    return None


def _extra_body_errors(operation_id: str, body: Any) -> dict[str, Any]:
    target = _message_part(operation_id, body)
    if target is None:
        return {}
    errors = message_rule_errors(target)
    return {"data": errors} if errors and target is not body else errors


def _command_errors(index: int, command: Any) -> dict[str, Any]:
    if not isinstance(command, dict):
        return {}
    errors: dict[str, Any] = {}
    ctype = int(command.get("type") or 1)
    name = command.get("name", "")
    bad_name = not COMMAND_NAME_RE.match(name) or (ctype == 1 and name != name.lower())
    if bad_name:
        errors["name"] = leaf("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
    if ctype == 1 and not command.get("description"):
        errors["description"] = _length_error(0, 1, 100)
    for o_index, option in enumerate(command.get("options") or []):
        sub = _option_errors(option)
        if sub:
            errors.setdefault("options", {})[str(o_index)] = sub
    return {str(index): errors} if errors else {}


def _option_errors(option: Any) -> dict[str, Any]:
    if not isinstance(option, dict):
        return {}
    name = option.get("name", "")
    if COMMAND_NAME_RE.match(name) and name == name.lower():
        return {}
    return {"name": leaf("APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")}


def _duplicate_command_errors(commands: list[Any]) -> dict[str, Any]:
    seen: set[tuple[int, str]] = set()
    for command in commands:
        if not isinstance(command, dict):
            continue
        key = (int(command.get("type") or 1), str(command.get("name")))
        if key in seen:
            return {
                "_errors": [
                    {
                        "code": "APPLICATION_COMMANDS_DUPLICATE_NAME",
                        "message": f"Application command names must be unique ({key[1]})",
                    }
                ]
            }
        seen.add(key)
    return {}


def _reference_payload(reference: StoredMessage, guild_id: int) -> dict[str, Any]:
    return {
        "type": 0,
        "message_id": str(reference.id),
        "channel_id": str(reference.channel_id),
        "guild_id": str(guild_id),
    }


def _complete_member(member: dict[str, Any]) -> dict[str, Any]:
    user = member.get("user") or {}
    user.setdefault("id", "53908232506183680")
    user.setdefault("username", "oncall")
    user.setdefault("discriminator", "0")
    user.setdefault("global_name", None)
    user.setdefault("avatar", None)
    user.setdefault("public_flags", 0)
    defaults = {
        "roles": [],
        "joined_at": "2024-01-01T00:00:00.000000+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "pending": False,
        "nick": None,
        "avatar": None,
        "premium_since": None,
        "permissions": str(BASE_PERMISSIONS),
        "communication_disabled_until": None,
    }
    for key, value in defaults.items():
        member.setdefault(key, value)
    member["user"] = user
    return member


def _check_gateway_query(request: web.Request) -> None:
    query = request.query
    if query.get("v", "10") != "10":
        raise _GatewayClose(4012, "Invalid API version.")
    if query.get("encoding", "json") != "json":
        raise _GatewayClose(4002, "Error while decoding payload (fake supports encoding=json only).")
    if query.get("compress") not in (None, "zlib-stream", "zstd-stream"):
        raise _GatewayClose(4002, "Error while decoding payload (unknown compress).")


def _check_identify_shape(data: Any) -> None:
    ok = isinstance(data, dict) and "token" in data and isinstance(data.get("properties"), dict)
    props = data.get("properties") if ok else None
    if not ok or not all(isinstance(props.get(k), str) for k in ("os", "browser", "device")):
        raise _GatewayClose(4002, "Error while decoding payload.")
    threshold = data.get("large_threshold", 50)
    if not isinstance(threshold, int) or not 50 <= threshold <= 250:
        raise _GatewayClose(4002, "Error while decoding payload.")


def _check_shard(shard: Any) -> list[int] | None:
    if shard is None:
        return None
    valid = isinstance(shard, list) and len(shard) == 2 and all(isinstance(x, int) for x in shard)
    if not valid or not 0 <= shard[0] < shard[1]:
        raise _GatewayClose(4010, "Invalid shard.")
    return list(shard)
