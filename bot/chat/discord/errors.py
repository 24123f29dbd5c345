"""Discord's answers as the delivery worker's three outcomes, for the bot and the webhook path alike.

429 and 5xx are `RetryLater`; what only a person can fix (token, permissions, a deleted channel or
webhook) is `SinkMisconfigured`, with the fix in the message; what Discord will never accept
(50035 Invalid Form Body, a deleted message or thread) is `Undeliverable`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.chat.base import RetryLater, SinkMisconfigured, Undeliverable

PERMISSIONS = (
    "View Channel, Send Messages, Send Messages in Threads, Create Public Threads, Embed Links, "
    "Attach Files and Read Message History"
)
UNKNOWN_CHANNEL, UNKNOWN_MESSAGE, UNKNOWN_WEBHOOK = 10003, 10008, 10015
MISSING_ACCESS, MISSING_PERMISSIONS, INVALID_FORM_BODY, INVALID_WEBHOOK_TOKEN = 50001, 50013, 50035, 50027
THREAD_EXISTS = 160004
FORUM_NEEDS_THREAD, NOT_A_FORUM = 220001, 220003


class MissingPermission(SinkMisconfigured):
    """403 50013: the bot lacks a permission in the channel (a person must grant it)."""


@dataclass(frozen=True)
class Where:
    """What a request was about, so one error code can mean the right thing."""

    what: str  # "post the alert", "edit the alert", ...
    in_thread: bool = False  # a thread can be deleted by a person without anything being misconfigured
    webhook: bool = False


def classify(status: int, code: int, message: str, where: Where, retry_after: float | None = None) -> Exception:
    if status == 429:
        return RetryLater(f"{where.what}: rate limited", retry_after=retry_after if retry_after is not None else 1.0)
    if status >= 500:
        return RetryLater(f"{where.what}: Discord answered HTTP {status}")
    fix = _fix(status, code, where)
    said = f"Discord refused to {where.what} (HTTP {status}, code {code}: {message[:300]})"
    if fix is not None:
        kind = MissingPermission if code == MISSING_PERMISSIONS else SinkMisconfigured
        return kind(f"{said}: {fix}")
    return Undeliverable(said)


def _fix(status: int, code: int, where: Where) -> str | None:
    """The one line that tells a person what to change, or None when no person can help."""
    setting = "DISCORD_WEBHOOK_URL" if where.webhook else "DISCORD_CHANNEL_ID"
    if status == 401 or code == INVALID_WEBHOOK_TOKEN:
        return (
            "the webhook's token is wrong; copy the webhook URL again into DISCORD_WEBHOOK_URL"
            if where.webhook
            else "DISCORD_BOT_TOKEN is wrong or was reset; copy it again (developer portal → Bot → Reset Token)"
        )
    if code == UNKNOWN_WEBHOOK:
        return "the webhook in DISCORD_WEBHOOK_URL was deleted; create a new one (channel → Integrations → Webhooks)"
    if code == UNKNOWN_CHANNEL and not where.in_thread:
        return f"{setting} is not a channel statusbot can see; check the id (Developer Mode → Copy Channel ID)"
    if code == MISSING_ACCESS:
        return f"the bot cannot see the channel in {setting}: give its role View Channel and Read Message History there"
    if code == MISSING_PERMISSIONS or status == 403:
        return f"the bot lacks a permission in the channel of {setting}: give its role {PERMISSIONS}"
    if status == 404 and code == 0:
        return "DISCORD_API_URL does not look like Discord's API (it answered 404 to a known route)"
    return None
