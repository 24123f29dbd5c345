"""The lease and its fencing, on SQLite and PostgreSQL, in one process with a simulated local clock.
(The same with real processes, SIGKILL and SIGSTOP, is in tests/test_replicas.py.) A send in flight
when the lease is lost is played with the loopback Slack holding a request's answer: deterministic,
where a SIGSTOP would land at a random moment."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import update
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import select

from bot.chat.base import Sink
from bot.chat.console.sink import ConsoleSink
from bot.chat.slack.sink import SlackSink
from bot.clock import ManualClock
from bot.delivery.pacing import Pacer
from bot.delivery.worker import DeliveryWorker
from bot.leadership import Leadership
from bot.store.db import Database
from bot.store.lease import LeadershipLost, Lease
from bot.store.models import ChatThread, Incident, LeaderLease, OutboxMessage
from tests.fakes.slack_api import FakeSlack, Held
from tests.slack_world import CHANNEL

NOW = datetime(2026, 4, 15, 13, 0, tzinfo=UTC)


class Replica:
    """A lease holder with its own monotonic clock, which the test moves (a pause is a jump)."""

    def __init__(self, db: Database, name: str, sinks: Mapping[str, Sink] | None = None) -> None:
        self.time = 1000.0
        self.out = io.StringIO()
        self.leadership = Leadership(Lease(db, name, ttl=10), self._lead, self._follow, monotonic=lambda: self.time)
        self.sinks = sinks or {"console": ConsoleSink(self.out, colour=False)}
        self.worker = DeliveryWorker(db, self.sinks, ManualClock(NOW))
        self.worker.fence = self.leadership
        self.events: list[str] = []

    async def _lead(self, epoch: int) -> None:
        self.events.append(f"lead {epoch}")

    async def _follow(self) -> None:
        self.events.append("follow")


@pytest.fixture
def db(any_db_url: str) -> Iterator[Database]:
    database = Database(any_db_url)
    database.upgrade()
    yield database
    database.dispose()


def expire(db: Database) -> None:
    """Time passes in the database: the lease runs out (the holder stopped renewing)."""
    with db.engine.begin() as conn:
        conn.execute(update(LeaderLease).values(expires_at=0.0))  # type: ignore[arg-type]


def queue_open(db: Database, sink: str = "console") -> int:
    with db.session() as session:
        incident = Incident(
            service="claude", source="statuspage", title="Elevated errors", status="investigating",
            started_at=NOW, detected_at=NOW, updated_at=NOW, announced=True,
        )  # fmt: skip
        session.add(incident)
        session.flush()
        row = OutboxMessage(sink=sink, incident_id=incident.id, action="open", created_at=NOW, next_attempt_at=NOW)
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def attempts(db: Database, row_id: int) -> tuple[int, bool]:
    with db.session() as session:
        row = session.exec(select(OutboxMessage).where(OutboxMessage.id == row_id)).one()
        return row.attempts, row.delivered_at is not None


async def test_one_leader_at_a_time_and_each_takeover_a_new_epoch(db: Database) -> None:
    a, b = Replica(db, "host/1/a"), Replica(db, "host/2/b")
    await a.leadership.tick()
    await b.leadership.tick()
    assert (a.leadership.role, b.leadership.role) == ("leader", "follower")
    await a.leadership.stop()  # a clean shutdown hands the lease over at once
    await b.leadership.tick()
    assert a.events == ["lead 1", "follow"] and b.events == ["lead 2"]
    assert b.leadership.lease.current() == (2, "host/2/b")


async def test_a_paused_leader_finds_out_before_it_sends(db: Database) -> None:
    """A leads, is paused past its lease (its monotonic clock jumps), B takes over: A's worker
    claims nothing and sends nothing, even before A's own renewal loop has run again."""
    a, b = Replica(db, "host/1/a"), Replica(db, "host/2/b")
    await a.leadership.tick()
    row = queue_open(db)
    a.time += 20  # SIGSTOP for 20 s, then SIGCONT
    expire(db)
    await b.leadership.tick()
    with pytest.raises(LeadershipLost):
        await a.worker.drain()
    assert attempts(db, row) == (0, False) and a.out.getvalue() == ""
    assert await b.worker.drain() == 1
    assert attempts(db, row) == (1, True) and b.out.getvalue().count("Elevated errors") == 1


async def test_a_stale_epoch_cannot_claim_even_while_its_local_deadline_holds(db: Database) -> None:
    """The database check alone: A still believes it leads (no time passed for it), yet B holds a
    newer epoch; the claim is rolled back, and A steps down at its next renewal."""
    a, b = Replica(db, "host/1/a"), Replica(db, "host/2/b")
    await a.leadership.tick()
    row = queue_open(db)
    expire(db)
    await b.leadership.tick()
    assert a.leadership.leading
    with pytest.raises(LeadershipLost, match="epoch 2 held by host/2/b"):
        await a.worker.drain()
    assert attempts(db, row) == (0, False)
    await a.leadership.tick()
    assert a.events == ["lead 1", "follow"] and not a.leadership.leading


async def test_a_row_claimed_by_a_dead_leader_is_sent_as_maybe_sent(db: Database) -> None:
    """A counted its attempt, then died before the answer: B's attempt is the second, so the sink
    is told the post may already be there and can look it up instead of posting again."""
    a, b = Replica(db, "host/1/a"), Replica(db, "host/2/b")
    await a.leadership.tick()
    row = queue_open(db)
    with db.session() as session:  # what A's claim wrote, as in DeliveryWorker._send
        stored = session.get(OutboxMessage, row)
        assert stored is not None
        stored.attempts += 1
        session.flush()
        a.leadership.confirm(session)
        session.commit()
    expire(db)  # A is gone; its lease runs out
    await b.leadership.tick()
    assert await b.worker.drain() == 1
    assert attempts(db, row) == (2, True)


# -- a send in flight when the lease is lost (Slack) ---------------------------------------------------


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack(post_rate_per_sec=None) as fake:
        yield fake


@pytest.fixture
async def slack_pair(db: Database, slack: FakeSlack) -> AsyncIterator[tuple[Replica, Replica]]:
    """A and B, each with its own real Slack client and sink on the one loopback Slack; A leads."""
    pair = tuple(
        Replica(db, name, {"slack": SlackSink(client(slack), CHANNEL, ManualClock(NOW), pacer=Pacer(0))})
        for name in ("host/1/a", "host/2/b")
    )
    await pair[0].leadership.tick()
    yield pair[0], pair[1]
    for replica in pair:
        await replica.sinks["slack"].aclose()


def client(slack: FakeSlack) -> AsyncWebClient:
    return AsyncWebClient(token=slack.token, base_url=slack.base_url, retry_handlers=[])


async def pause_mid_request(a: Replica, b: Replica, db: Database, held: Held) -> asyncio.Task[int]:
    """A drains until Slack holds its request's answer; then A is paused past the lease and B takes over."""
    sending = asyncio.create_task(a.worker.drain())
    await asyncio.wait_for(held.arrived.wait(), 30)
    a.time += 20  # SIGSTOP mid-request for longer than the lease
    expire(db)
    await b.leadership.tick()
    assert b.leadership.leading
    return sending


async def wake_to_the_answer(slack: FakeSlack, db: Database, held: Held, sending: asyncio.Task[int]) -> None:
    """B has delivered; now A's held answer arrives: one parent in Slack, one thread row, and A's
    drain ends in LeadershipLost (checked last, so a duplicate post is what a failure shows)."""
    held.release()
    await asyncio.wait([sending])
    parents = slack.parents(CHANNEL)
    assert len(parents) == 1, [p["text"] for p in parents]
    assert threads(db) == [parents[0]["ts"]]
    with pytest.raises(LeadershipLost):
        sending.result()


def threads(db: Database) -> list[str]:
    with db.session() as session:
        return [t.parent_ref for t in session.exec(select(ChatThread)).all()]


async def test_a_post_whose_answer_comes_after_the_lease_is_recorded_once(
    db: Database, slack: FakeSlack, slack_pair: tuple[Replica, Replica]
) -> None:
    """A's post is in Slack, its answer held while A is paused: B finds the post by its metadata
    and records the thread; A wakes up to the answer and records nothing (no second thread row)."""
    a, b = slack_pair
    row = queue_open(db, "slack")
    held = slack.hold_answer_next("chat.postMessage")
    sending = await pause_mid_request(a, b, db, held)
    assert await b.worker.drain() == 1
    await wake_to_the_answer(slack, db, held, sending)
    assert attempts(db, row) == (2, True)


async def test_a_leader_that_lost_the_lease_during_its_lookup_does_not_post(
    db: Database, slack: FakeSlack, slack_pair: tuple[Replica, Replica]
) -> None:
    """An earlier leader died mid-send, so A looks the post up first (conversations.history); A is
    paused while that answer ("not there") is on its way, B looks and posts. A's answer is stale by
    the time it arrives: A must not post on the strength of it."""
    a, b = slack_pair
    row = queue_open(db, "slack")
    with db.session() as session:  # the dead leader's counted attempt
        stored = session.get(OutboxMessage, row)
        assert stored is not None
        stored.attempts = 1
        session.commit()
    held = slack.hold_answer_next("conversations.history")
    sending = await pause_mid_request(a, b, db, held)
    assert await b.worker.drain() == 1
    await wake_to_the_answer(slack, db, held, sending)


def test_a_leader_paused_inside_its_claim_does_not_hold_the_takeover_up(pg_url: str) -> None:
    """SIGSTOP lands between a claim's `FOR SHARE` read of the lease row and its commit: the stopped
    process's transaction keeps the row locked, and the follower's takeover waits for it. The server
    ends such an idle transaction well within the failover bound (it used to take 60 s)."""
    database = Database(pg_url)
    database.upgrade()
    a, b = Lease(database, "host/1/a", ttl=10), Lease(database, "host/2/b", ttl=10)
    epoch = a.acquire()
    assert epoch is not None
    expire(database)  # A's lease has run out by the database's clock; A does not know yet
    paused = database.engine.connect()
    paused.begin()
    a.confirm(paused, epoch)  # A's claim locks the row FOR SHARE; then A is stopped
    deadline = time.monotonic() + 15  # the failover bound
    taken = None
    while taken is None and time.monotonic() < deadline:
        with contextlib.suppress(OperationalError):  # a lock wait may end in lock_timeout: try again
            taken = b.acquire()
    assert taken == epoch + 1
    with contextlib.suppress(SQLAlchemyError):
        paused.close()
    database.dispose()
