"""Drains the outbox to the sinks: at-least-once, in order per thread, retried with backoff.

Stages, in the spirit of Alertmanager's notify pipeline: coalesce (only the newest parent refresh of
an incident is sent), deliver, and record — a thread's reference is stored in the same commit that
marks its `open` row delivered, so a restart never posts a parent twice. With several replicas a
fencing stage (bot/delivery/fence.py) lets only the leader claim and send a row. A failing sink never blocks
another: each sink drains on its own; inside a sink, a failing thread holds back only its own rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, col, select

from bot.chat.base import Delivery, RetryLater, Sink, SinkMisconfigured, ThreadRef, Undeliverable
from bot.clock import Clock
from bot.delivery.fence import Fence, Unfenced
from bot.delivery.health import LONGEST_WAIT, SinkHealth
from bot.engine.live_cards import live_card
from bot.engine.views import entry_view
from bot.metrics import Metrics
from bot.postmortem.draft import Draft, TemplateProblem
from bot.store.db import Database
from bot.store.enums import OutboxAction
from bot.store.lease import LeadershipLost
from bot.store.models import ChatThread, Incident, OutboxMessage, TimelineEntry
from bot.store.outbox import pending

log = logging.getLogger(__name__)
MISCONFIGURED_RETRY = timedelta(minutes=10)
BATCH = 500
DATABASE_RETRY = 2.0


def backoff(attempts: int, base: float = 2.0, cap: float = 300.0) -> float:
    return min(cap, base * 2.0 ** max(0, attempts - 1))


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # this thread runs no loop
        return None


class DeliveryWorker:
    def __init__(
        self,
        db: Database,
        sinks: Mapping[str, Sink],
        clock: Clock,
        drafts: Callable[[int], Draft] | None = None,
        metrics: Metrics | None = None,
        fence: Fence | None = None,
    ) -> None:
        self.metrics = metrics
        self.fence: Fence = fence or Unfenced()
        self.db = db
        self.drafts = drafts
        self._made: dict[int, asyncio.Future[Draft]] = {}  # drafts of this drain, shared by the sinks
        self.sinks = dict(sinks)
        self.clock = clock
        self._wake = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop `run` waits on
        self._broken: dict[str, str] = {}
        self.delivered = 0
        self.failures: dict[str, int] = dict.fromkeys(self.sinks, 0)
        self._locks = {name: asyncio.Lock() for name in self.sinks}
        self.health = {name: SinkHealth(name, clock, getattr(sink, "check", None)) for name, sink in self.sinks.items()}

    def paused(self, sink: str) -> bool:
        """The sink is waiting for a person to fix its configuration (already reported)."""
        return sink in self._broken

    def kick(self) -> None:
        """Something was committed (or a retry may be due): drain soon. Safe from any thread: off the
        loop's own thread the wake-up is handed to the loop, as asyncio.Event is not thread-safe."""
        loop = self._loop
        if loop is None or _running_loop() is loop:
            self._wake.set()
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: there is nobody to wake
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            before = self.db.outage.answers
            try:
                await self.drain()
                self.db.outage.recovered(before)
            except LeadershipLost as exc:
                log.info("delivery: stopped, %s", exc)
            except SQLAlchemyError as exc:  # a lost connection: say so once, try again shortly
                self.db.outage.failed("delivery", exc)
                asyncio.get_running_loop().call_later(DATABASE_RETRY, self.kick)

    async def drain(self) -> int:
        self._made.clear()
        counts = await asyncio.gather(*(self._drain_sink(name) for name in self.sinks))
        return sum(counts)

    async def _drain_sink(self, name: str) -> int:
        async with self._locks[name]:
            return await self._drain_locked(name)

    async def _drain_locked(self, name: str) -> int:
        sent, health = 0, self.health[name]
        while True:
            if not await health.reachable():
                self._kick_in(health.wait())
                return sent
            now = self.clock.now()
            with self.db.session() as session:
                rows = pending(session, name, now, BATCH)
            batch_sent, progressed = await self._deliver_batch(self.sinks[name], rows, now)
            sent += batch_sent
            if len(rows) < BATCH or not progressed:
                return sent

    async def _deliver_batch(self, sink: Sink, rows: list[OutboxMessage], now: datetime) -> tuple[int, bool]:
        """Deliver due rows in order; a thread whose row fails holds back its own later rows only."""
        sent, progressed, held = 0, False, set()
        newest_refresh = {r.incident_id: r.id for r in rows if r.action == OutboxAction.REFRESH}
        for row in rows:
            if self.health[row.sink].down:  # a failure just now: the rest waits for the sink's check
                break
            if row.incident_id in held:
                continue
            if row.action == OutboxAction.REFRESH and (
                newest_refresh[row.incident_id] != row.id or self._newer_refresh(row)
            ):
                self._mark(row, now, None)  # coalesced into a later refresh of the same parent
                progressed = True
                continue
            if await self._deliver(sink, row):
                sent, progressed = sent + 1, True
            else:
                held.add(row.incident_id)
        return sent, progressed

    def _newer_refresh(self, row: OutboxMessage) -> bool:
        """A later edit of the same card was queued while we waited (pacing): send only that one."""
        with self.db.session() as session:
            return (
                session.exec(
                    select(OutboxMessage.id).where(
                        OutboxMessage.sink == row.sink,
                        OutboxMessage.incident_id == row.incident_id,
                        OutboxMessage.action == OutboxAction.REFRESH,
                        col(OutboxMessage.delivered_at).is_(None),
                        col(OutboxMessage.id) > row.id,
                    )
                ).first()
                is not None
            )

    async def _deliver(self, sink: Sink, row: OutboxMessage) -> bool:
        try:
            thread = await self._send(sink, row)
        except LeadershipLost:
            raise  # not a failure of this row: nothing is recorded, the next leader sends it
        except RetryLater as exc:
            if exc.retry_after is not None:  # a rate limit: honoured exactly, by this row
                self._retry(row, str(exc), exc.retry_after)
            elif isinstance(exc, _NoThread):
                self._retry(row, str(exc), backoff(row.attempts + 1))
            else:
                await self._transient(sink, row, str(exc))
        except Undeliverable as exc:
            log.error(
                "%s: gave up delivering #%s %s: %s",
                row.sink,
                row.incident_id,
                row.action,
                exc,
                extra={"incident": row.incident_id, "sink": row.sink},
            )
            self._mark(row, self.clock.now(), None, gave_up=str(exc))
            return True
        except SinkMisconfigured as exc:
            if self._broken.get(row.sink) != str(exc):
                log.error("%s: configuration problem, delivery paused: %s", row.sink, exc)
            self._broken[row.sink] = str(exc)
            self._retry(row, str(exc), MISCONFIGURED_RETRY.total_seconds(), quiet=True)
        except Exception as exc:
            await self._transient(sink, row, f"{type(exc).__name__}: {exc}")
        else:
            if self._broken.pop(row.sink, None):
                log.info("%s: delivering again", row.sink)
            self._mark(row, self.clock.now(), thread)
            self.delivered += 1
            self._count(row.sink, True)
            return True
        self.failures[row.sink] = self.failures.get(row.sink, 0) + 1
        self._count(row.sink, False)
        return False

    async def _transient(self, sink: Sink, row: OutboxMessage, error: str) -> None:
        """A 5xx or a network error: the sink's problem (down until its check answers; the row stays
        due) unless the sink's check answers at once — then it is this row's, retried on its own."""
        health = self.health[row.sink]
        if health.check is None:
            self._retry(row, error, backoff(row.attempts + 1, cap=LONGEST_WAIT))
        elif await health.confirm(error):
            self._retry(row, error, backoff(row.attempts + 1))
        else:
            self._note(row, error)
            self._kick_in(health.wait())

    def _note(self, row: OutboxMessage, error: str) -> None:
        with self.db.session() as session:
            stored = session.get(OutboxMessage, row.id)
            assert stored is not None
            stored.last_error = error[:500]
            session.commit()

    def _kick_in(self, delay: float) -> None:
        asyncio.get_running_loop().call_later(delay, self.kick)

    def _count(self, sink: str, ok: bool) -> None:
        if self.metrics is not None:
            self.metrics.delivery(sink, ok)

    async def _send(self, sink: Sink, row: OutboxMessage) -> ThreadRef | None:
        with self.db.session() as session:
            incident = session.get(Incident, row.incident_id)
            stored = session.get(OutboxMessage, row.id)
            assert incident is not None and stored is not None
            view = live_card(session, incident, self.clock.now())
            thread = _thread(session, row.incident_id, row.sink)
            entry = session.get(TimelineEntry, row.entry_id) if row.entry_id else None
            # Count the attempt before making it: after a crash mid-send, the retry knows the post
            # may have landed and asks the sink to reconcile instead of posting again.
            delivery = Delivery(key=str(row.id), maybe_sent=stored.attempts > 0, ready=self.fence.check)
            stored.attempts += 1
            session.flush()  # the claim's write first: see Lease.confirm
            self.fence.confirm(session)
            session.commit()
        self.fence.check()  # a leader paused since the claim finds out here (and the sink asks again, last)
        if row.action == OutboxAction.OPEN:
            return None if thread else await sink.open_thread(view, delivery)
        if thread is None:
            raise _NoThread(f"incident #{row.incident_id} has no {row.sink} thread yet")
        if row.action == OutboxAction.UPDATE and entry is not None:
            await sink.post_update(thread, view, entry_view(entry), delivery)
        elif row.action == OutboxAction.REFRESH:
            await sink.refresh(thread, view)
        elif row.action == OutboxAction.POSTMORTEM and self.drafts is not None:
            await sink.post_postmortem(thread, view, await self._draft(row.incident_id), delivery)
        return None

    async def _draft(self, incident_id: int) -> Draft:
        """Drafts (and their charts) are made at delivery time, off the event loop, once per incident
        and drain, whichever sinks want it."""
        assert self.drafts is not None
        if incident_id not in self._made:  # sinks drain concurrently: the first asks, the others wait
            self._made[incident_id] = asyncio.ensure_future(asyncio.to_thread(self.drafts, incident_id))
        try:
            return await asyncio.shield(self._made[incident_id])
        except TemplateProblem as exc:
            raise Undeliverable(f"postmortem template: {exc}") from None

    def _mark(self, row: OutboxMessage, now: datetime, thread: ThreadRef | None, gave_up: str | None = None) -> None:
        with self.db.session() as session:
            stored = session.get(OutboxMessage, row.id)
            assert stored is not None
            stored.delivered_at = now
            if gave_up is not None:
                stored.gave_up, stored.last_error = True, gave_up[:500]
            session.flush()  # the first write, then the fence: see Lease.confirm
            # A send that outlived the lease (paused mid-request) records nothing: the next leader
            # has reconciled (or will reconcile) that row through the sink's idempotency and records it.
            self.fence.confirm(session)
            if thread is not None:
                session.add(
                    ChatThread(
                        incident_id=row.incident_id,
                        sink=row.sink,
                        channel=thread.channel,
                        parent_ref=thread.parent,
                        thread_ref=thread.thread,
                        created_at=now,
                    )
                )
            session.commit()

    def _retry(self, row: OutboxMessage, error: str, delay: float, quiet: bool = False) -> None:
        with self.db.session() as session:
            stored = session.get(OutboxMessage, row.id)
            assert stored is not None
            if not quiet:
                log.warning(
                    "%s: delivery of #%s %s failed (attempt %d, retry in %.1fs): %s",
                    row.sink,
                    row.incident_id,
                    row.action,
                    stored.attempts,
                    delay,
                    error,
                    extra={"incident": row.incident_id, "sink": row.sink},
                )
            stored.next_attempt_at = self.clock.now() + timedelta(seconds=delay)
            stored.last_error = error[:500]
            session.commit()
        asyncio.get_running_loop().call_later(delay, self.kick)


class _NoThread(RetryLater):
    """The thread's parent is not posted yet (its `open` row is waiting): not the sink's failure."""


def _thread(session: Session, incident_id: int, sink: str) -> ThreadRef | None:
    row = session.exec(select(ChatThread).where(ChatThread.incident_id == incident_id, ChatThread.sink == sink)).first()
    return ThreadRef(row.channel, row.parent_ref, row.thread_ref) if row else None
