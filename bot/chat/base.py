"""The one small interface every chat platform implements (the console and each folder under bot/chat/).

A sink renders and transports; it never changes incident state. Each post carries a `Delivery`: its
`key` (the outbox row id) and whether an earlier attempt may already have reached the platform, so a
sink that can look its messages up (message metadata, a nonce) can make a retry
idempotent instead of posting twice. Its `ready` is the fence: a sink calls it right before each
post, after any wait of its own (pacing, a lookup), so a replica that lost the lead meanwhile sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from bot.engine.views import EntryView, IncidentCard
from bot.postmortem.draft import Draft


def _unfenced() -> None:
    return None


@dataclass(frozen=True)
class Delivery:
    key: str
    maybe_sent: bool = False
    ready: Callable[[], None] = _unfenced  # raises LeadershipLost once this replica may no longer send


@dataclass(frozen=True)
class ThreadRef:
    channel: str
    parent: str
    thread: str | None = None


class Sink(Protocol):
    name: str

    async def open_thread(self, incident: IncidentCard, delivery: Delivery) -> ThreadRef:
        """Post the parent message of a new incident thread."""
        ...

    async def post_update(
        self, thread: ThreadRef, incident: IncidentCard, entry: EntryView, delivery: Delivery
    ) -> None:
        """Reply in the thread with one timeline entry."""
        ...

    async def refresh(self, thread: ThreadRef, incident: IncidentCard) -> None:
        """Bring the parent message up to date with the incident's current state."""
        ...

    async def post_postmortem(
        self, thread: ThreadRef, incident: IncidentCard, draft: Draft, delivery: Delivery
    ) -> None:
        """Attach the postmortem draft (Markdown) and its chart (PNG) to the thread."""
        ...

    async def aclose(self) -> None: ...


class RetryLater(Exception):
    """A transient failure (rate limit, 5xx, network): try again, after `retry_after` if given."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Undeliverable(Exception):
    """The platform will never accept this message (too long, malformed): give it up, log it once."""


class SinkMisconfigured(Exception):
    """The platform refused us for a reason only a person can fix (bad token, not in channel)."""
