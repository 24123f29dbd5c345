"""Leader election among the replicas that share one database.

Every replica serves HTTP; the one holding the lease (bot/store/lease.py) also runs the leader's
duties: polling, probes, reminders, retention, delivery and leader-only chat connections (a gateway). This loop renews
the lease every `ttl / 5` seconds while it leads and tries to take it as often while it follows;
after a leader dies its lease runs out within `ttl` and a follower leads within `ttl + ttl / 5`.

Losing the lease (another replica took it, the renewal could not reach the database before the local
deadline, the process was paused past it) stops the duties at once, dropping work in flight: a row
whose send may have started keeps its counted attempt, so the next leader sends it with
`maybe_sent` and the sink's idempotency (message metadata, a nonce) finds the earlier post.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from bot.metrics import Metrics
from bot.store.errors import describe
from bot.store.lease import LeadershipLost, Lease

log = logging.getLogger(__name__)
LEADER, FOLLOWER = "leader", "follower"


def replica_id() -> str:
    """host/pid/nonce: unique per process, and readable in logs and in the lease row."""
    return f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(3)}"


def gone(holder: str | None, me: str) -> bool:
    """The holder ran on this host and its process is no more (a kill -9, then a restart): no need
    to wait for its lease to run out. Anything uncertain counts as alive."""
    try:
        host, pid_text, _ = (holder or "").rsplit("/", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != socket.gethostname() or holder == me:
        return False
    if pid == os.getpid():
        return True  # an earlier life of this very process id (a container restarted in place)
    if not Path("/proc/self/stat").exists():  # not Linux: ask the kernel the portable way
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] == "Z"  # a zombie: killed, not yet reaped


class Leadership:
    """Implements the delivery `Fence` too: the worker asks it before claiming and before sending."""

    def __init__(
        self,
        lease: Lease,
        on_lead: Callable[[int], Awaitable[None]],
        on_follow: Callable[[], Awaitable[None]],
        metrics: Metrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lease = lease
        self.on_lead, self.on_follow = on_lead, on_follow
        self.metrics = metrics
        self.monotonic = monotonic
        self.interval = lease.ttl / 5
        self.margin = lease.ttl / 10  # the local deadline ends this much before the database's
        self.epoch: int | None = None
        self.deadline = float("-inf")
        self.changes = 0
        self._poke = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._seen: tuple[int, str | None] | None = None
        self._db_problem: str | None = None

    @property
    def role(self) -> str:
        return LEADER if self.leading else FOLLOWER

    @property
    def leading(self) -> bool:
        return self.epoch is not None and self.monotonic() < self.deadline

    # -- the fence ---------------------------------------------------------------------------------

    def check(self) -> None:
        if not self.leading:
            raise LeadershipLost("the lease is not (or no longer surely) ours")

    def confirm(self, session: Session) -> None:
        self.check()
        assert self.epoch is not None
        self.lease.confirm(session, self.epoch)

    # -- the loop ----------------------------------------------------------------------------------

    async def start(self) -> None:
        await self.tick()
        self._task = asyncio.create_task(self._run(), name="leadership")

    def poke(self) -> None:
        """The lease may have been released (a NOTIFY from a leader shutting down): try now."""
        self._poke.set()

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), self._wait())
            self._poke.clear()
            await self.tick()

    def _wait(self) -> float:
        if self.epoch is None:
            return self.interval
        return max(0.0, min(self.interval, self.deadline - self.monotonic()))

    async def tick(self) -> None:
        if self.epoch is not None:
            await self._renew()
        else:
            await self._try_to_lead()

    async def _renew(self) -> None:
        assert self.epoch is not None
        if not self.leading:
            late = "the database did not answer" if self._db_problem else "paused, or the database is slow"
            await self._step_down(f"the lease lapsed before it could be renewed ({late})")
            return
        started = self.monotonic()
        try:
            ours = await asyncio.to_thread(self.lease.renew, self.epoch)
        except SQLAlchemyError as exc:
            self._database_down(exc)
            return
        self._database_up()
        if not ours:
            await self._step_down("another replica holds the lease now")
        elif self.epoch is not None and started + self.lease.ttl - self.margin > self.deadline:
            self.deadline = started + self.lease.ttl - self.margin

    async def _try_to_lead(self) -> None:
        started = self.monotonic()
        try:
            epoch = await asyncio.to_thread(self.lease.acquire)
            current = (epoch, self.lease.holder) if epoch else await asyncio.to_thread(self.lease.current)
            if epoch is None and gone(current[1], self.lease.holder):
                epoch = await asyncio.to_thread(self.lease.acquire, current[1])
        except SQLAlchemyError as exc:
            self._database_down(exc)
            return
        self._database_up()
        if epoch is None:
            if current != self._seen:
                log.info(
                    "waiting as a follower: %s leads (epoch %d); this replica serves HTTP and takes over if it stops",
                    current[1] or "nobody",
                    current[0],
                )
                self._seen = current
            return
        self.epoch, self.deadline, self._seen = epoch, started + self.lease.ttl - self.margin, None
        self._changed(True)
        log.info("leading (epoch %d) as %s: polling, probes, reminders and delivery run here", epoch, self.lease.holder)
        try:
            await self.on_lead(epoch)
        except Exception:
            log.exception("could not start the leader's duties; stepping down")
            await self._step_down("the leader's duties failed to start")

    async def _step_down(self, why: str) -> None:
        if self.epoch is None:
            return
        log.warning("stopped leading (epoch %d): %s; work in flight dropped", self.epoch, why)
        self.epoch, self.deadline = None, float("-inf")
        self._changed(False)
        await self.on_follow()

    def _changed(self, leading: bool) -> None:
        self.changes += 1
        if self.metrics is not None:
            self.metrics.leadership(leading)

    def _database_down(self, exc: SQLAlchemyError) -> None:
        problem = describe(exc)
        if self._db_problem is None:
            log.warning("leadership: the database is unreachable (%s); retrying every %.0fs", problem, self.interval)
        self._db_problem = problem

    def _database_up(self) -> None:
        if self._db_problem is not None:
            log.info("leadership: the database answers again")
        self._db_problem = None

    async def stop(self) -> None:
        """Stop the duties and hand the lease over at once (a deploy, a scale-down)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        epoch = self.epoch
        if epoch is None:
            return
        self.epoch, self.deadline = None, float("-inf")
        await self.on_follow()
        try:
            await asyncio.to_thread(self.lease.release, epoch)
        except SQLAlchemyError as exc:
            log.warning("could not release the lease (%s); a follower takes over when it runs out", exc)
