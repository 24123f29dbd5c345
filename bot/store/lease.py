"""The leader lease: one row that says which replica leads, with a fencing epoch.

Why a lease row and not a PostgreSQL advisory lock:

- An advisory lock (`pg_try_advisory_lock`) is held by a *session*. Its holder learns nothing when it
  is paused (SIGSTOP, a long GC, a network stall): the lock is released only once the server notices
  the connection is gone, which for a silent network failure depends on TCP keepalives, and the
  paused process still believes it leads when it wakes up. A lock alone does not fence.
- A lease row carries a monotonic **epoch**: every change of holder adds one. Each outbox row is
  claimed in a transaction that reads the lease row (`FOR SHARE` on PostgreSQL, under SQLite's one
  writer lock) and compares the epoch, so a leader that lost its lease cannot claim anything, however
  late it wakes up. That is the classic fencing token, checked where the write happens.
- The row works the same on SQLite: a second `statusbot run` on the same file finds a live lease
  and waits as a follower. An advisory lock has no SQLite counterpart.
- Expiry is by the **database's** clock (`expires_at` is written and compared in SQL), so replicas on
  machines whose clocks disagree still agree on when a lease ran out. The holder keeps its own
  *local* deadline on the monotonic clock, counted from *before* it sent the renewal: the database's
  expiry is never earlier than that, and a monotonic clock keeps advancing while a process is
  stopped, so a leader resumed after SIGCONT sees at once that its lease may have passed to another.

Each operation here is one short transaction.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Float, insert, or_, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel import Session

from bot.store.db import Database
from bot.store.models import LeaderLease

LEADER = "leader"
_table = LeaderLease.__table__  # type: ignore[attr-defined]


class LeadershipLost(Exception):
    """This replica no longer holds the lease: whatever it was about to do as the leader, it must not."""


class db_seconds(FunctionElement[float]):
    """The database server's clock, in seconds since 1970."""

    type = Float()
    inherit_cache = True


@compiles(db_seconds, "postgresql")
def _pg_seconds(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(db_seconds, "sqlite")
def _sqlite_seconds(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


class Lease:
    def __init__(self, db: Database, holder: str, ttl: float, name: str = LEADER) -> None:
        self.db, self.holder, self.ttl, self.name = db, holder, ttl, name

    def acquire(self, dead_holder: str | None = None) -> int | None:
        """Take the lease if nobody holds a live one (or its holder is `dead_holder`, known to be
        gone): the new epoch, else None."""
        free = _table.c.expires_at <= db_seconds()
        if dead_holder is not None:
            free = or_(free, _table.c.holder == dead_holder)
        with self.db.engine.begin() as conn:
            taken = conn.execute(
                update(_table)
                .where(_table.c.name == self.name, free)
                .values(epoch=_table.c.epoch + 1, holder=self.holder, expires_at=db_seconds() + self.ttl)
                .returning(_table.c.epoch)
            ).first()
            if taken is not None:
                return int(taken.epoch)
            if conn.execute(select(_table.c.name).where(_table.c.name == self.name)).first() is not None:
                return None
        return self._create()

    def _create(self) -> int | None:
        """The row is missing (a database filled by hand): the first to insert it leads."""
        try:
            with self.db.engine.begin() as conn:
                conn.execute(
                    insert(_table).values(
                        name=self.name, epoch=1, holder=self.holder, expires_at=db_seconds() + self.ttl
                    )
                )
        except IntegrityError:
            return None
        return 1

    def renew(self, epoch: int) -> bool:
        """Push the expiry on; False when the lease is no longer ours (another replica took it)."""
        with self.db.engine.begin() as conn:
            result = conn.execute(
                update(_table)
                .where(_table.c.name == self.name, _table.c.holder == self.holder, _table.c.epoch == epoch)
                .values(expires_at=db_seconds() + self.ttl)
            )
            return bool(result.rowcount == 1)

    def release(self, epoch: int) -> None:
        """Let a follower take over at once (a clean shutdown: a deploy, a scale-down)."""
        with self.db.engine.begin() as conn:
            conn.execute(
                update(_table)
                .where(_table.c.name == self.name, _table.c.holder == self.holder, _table.c.epoch == epoch)
                .values(expires_at=0.0)
            )

    def current(self) -> tuple[int, str | None]:
        """(epoch, holder) as the database has them now."""
        with self.db.engine.connect() as conn:
            row = conn.execute(select(_table.c.epoch, _table.c.holder).where(_table.c.name == self.name)).first()
        return (int(row.epoch), row.holder) if row else (0, None)

    def confirm(self, session: Session | Connection, epoch: int) -> None:
        """Inside a write transaction, after its first write: raise unless we still hold `epoch`.

        The caller's write came first, so on SQLite this transaction already holds the one writer
        lock and reads the newest lease; on PostgreSQL `FOR SHARE` makes a concurrent takeover wait
        for this commit (or this read wait for it). Either way the claim and the takeover are
        ordered, and a claim under a stale epoch is rolled back."""
        query = select(_table.c.epoch, _table.c.holder).where(_table.c.name == self.name).with_for_update(read=True)
        row = session.execute(query).first()
        if row is None or row.epoch != epoch or row.holder != self.holder:
            held = f"epoch {row.epoch} held by {row.holder}" if row else "no lease row"
            raise LeadershipLost(f"lease epoch {epoch} is over ({held})")
