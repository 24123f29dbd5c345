"""The shape a Slack request must have before Bolt reads it.

Bolt trusts Slack's payloads: a signed request whose `actions` list is empty, whose `user` is not
an object or whose form holds no `payload` JSON makes its middleware fail with a 500 and an error in
the log. The real Slack never sends those, but a leaked signing secret, a replayed or hand-made
request may; they are refused here with a 400 and one line, before Bolt sees them.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

INTERACTIVE = ("block_actions", "view_submission", "view_closed", "shortcut", "message_action")


def problem(body: bytes, content_type: str) -> str | None:
    """Why this `/slack/events` body is not one Slack would send, or None when its shape is fine."""
    if content_type.startswith("application/json"):
        return _event(body)
    try:
        form = urllib.parse.parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    if "payload" in form:
        return _interactive(form["payload"][0])
    if "command" in form:
        return _needs(form, "command", "user_id", "team_id")
    return "neither a slash command nor an interactive payload"


def _needs(form: dict[str, list[str]], *keys: str) -> str | None:
    missing = [k for k in keys if not form.get(k, [""])[0]]
    return f"no {', '.join(missing)}" if missing else None


def _interactive(raw: str) -> str | None:
    try:
        payload = json.loads(raw)
    except ValueError:
        return "its payload is not JSON"
    if not isinstance(payload, dict) or payload.get("type") not in INTERACTIVE:
        return "its payload is not an interactive payload"
    if not _is_obj(payload.get("user"), "id") or not _optional_obj(payload, "team", "channel", "container"):
        return "its payload has no usable user, team, channel or container"
    actions = payload.get("actions")
    if payload["type"] == "block_actions" and not (
        isinstance(actions, list) and actions and all(_is_obj(a, "action_id") for a in actions)
    ):
        return "its block_actions has no actions"
    return None


def _event(body: bytes) -> str | None:
    try:
        event = json.loads(body)
    except ValueError:
        return "not JSON"
    if not isinstance(event, dict) or not isinstance(event.get("type"), str):
        return "not an Events API envelope"
    return None


def _is_obj(value: Any, key: str) -> bool:
    return isinstance(value, dict) and isinstance(value.get(key), str) and bool(value[key])


def _optional_obj(payload: dict[str, Any], *keys: str) -> bool:
    return all(payload.get(k) is None or isinstance(payload[k], dict) for k in keys)
