"""Scheduled jobs, every one a coroutine on the event loop.

APScheduler's AsyncIOScheduler runs a coroutine function on the loop but a plain function in a
thread pool, where nothing asyncio may be touched (an `asyncio.Event` set there can lose its
wake-up). So jobs are added through `every()`, which takes only coroutine functions; blocking work a
job wants off the loop goes through `asyncio.to_thread` explicitly. A job cut short by shutdown (a
poll in flight on SIGTERM) ends with one debug line instead of the scheduler's ERROR traceback.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, ParamSpec

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)
P = ParamSpec("P")


def stops_quietly(work: Callable[P, Awaitable[object]]) -> Callable[P, Coroutine[Any, Any, None]]:
    """The job as a coroutine function that ends quietly when shutdown cancels it."""

    @functools.wraps(work)
    async def job(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            await work(*args, **kwargs)
        except asyncio.CancelledError:
            log.debug("%s: cut short by shutdown", getattr(work, "__qualname__", work))

    return job


def every(
    scheduler: AsyncIOScheduler,
    job_id: str,
    work: Callable[[], Awaitable[object]],
    seconds: float,
    first_run: datetime | None = None,
) -> None:
    """Run `work` every `seconds`, never two at once, missed runs folded into one (and replacing the
    job of that id, as a replica that leads again re-adds its duties)."""
    scheduler.add_job(
        stops_quietly(work),
        "interval",
        seconds=seconds,
        id=job_id,
        next_run_time=first_run,
        max_instances=1,
        coalesce=True,
        replace_existing=True,
    )
