"""The committed app manifest, filled in with the user's public URL (or Socket Mode)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load() -> dict[str, Any]:
    text = resources.files("bot.chat.slack").joinpath("manifest.json").read_text(encoding="utf-8")
    manifest: dict[str, Any] = json.loads(text)
    return manifest


def public_url(text: str) -> str:
    """The bot's public base URL, as Slack will call it: https, with a host. Raises ValueError."""
    from urllib.parse import urlsplit

    parts = urlsplit(text.strip())
    if parts.scheme != "https" or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(
            f"must be the bot's public https:// base URL, such as https://statusbot.example.com (got {text[:80]!r})"
        )
    return text.strip().rstrip("/")


def for_install(public_url: str | None, command: str = "/claude") -> dict[str, Any]:
    """The manifest to paste at api.slack.com/apps: request URLs point at the bot, or Socket Mode."""
    manifest = load()
    slash = manifest["features"]["slash_commands"][0]
    slash["command"] = command
    settings = manifest["settings"]
    if public_url:
        events = public_url.rstrip("/") + "/slack/events"
        slash["url"] = settings["interactivity"]["request_url"] = events
    else:
        settings["socket_mode_enabled"] = True
        slash.pop("url")
        settings["interactivity"].pop("request_url")
    return manifest
