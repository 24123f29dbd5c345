"""Answering a command within the platform's deadline, and the work still running after it.

A chat platform wants a slash command or a button answered within a few seconds (3 s on the two we
ship). Work done within `BUDGET` is the answer itself; slower work gets the platform's holding reply
(a "Working on it…" message, a deferral) and its answer is sent later (by a response URL, a
follow-up), from a task kept in `Pending` so that shutdown and tests can wait for it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.commands.context import Answer

BUDGET = 2.0  # seconds of work answered directly, leaving a second of the 3 s for the round trip
T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    """How one platform answers one request: in time, holding, or late."""

    now: Callable[[Answer], Awaitable[None]]
    hold: Callable[[], Awaitable[None]]
    later: Callable[[Answer], Awaitable[None]]


class Pending:
    """Tasks still running after their request was answered: kept alive, awaited at shutdown."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, work: Awaitable[T]) -> asyncio.Task[T]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def settle(self) -> None:
        """Wait until nothing is running, counting work started meanwhile."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


async def answer_within(work: Coroutine[Any, Any, Answer], reply: Reply, pending: Pending) -> None:
    """Answer `work` through `reply.now` if it ends within `BUDGET`; else hold, and answer it later."""
    task = pending.start(work)
    done, _ = await asyncio.wait({task}, timeout=BUDGET)
    if done:
        await reply.now(task.result())
        return
    await reply.hold()

    async def late() -> None:
        await reply.later(await task)

    pending.start(late())
