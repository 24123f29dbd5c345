"""The fencing stage of delivery: only the replica holding the lease may send.

Two checks, both before anything goes out (see bot/store/lease.py for why both):
- `confirm(session)` inside the transaction that claims an outbox row (counts its attempt): the
  lease epoch is compared in the database, so a replica that lost the lease claims nothing;
- `check()` right before the send: the local deadline of the last confirmed renewal, on the
  monotonic clock, which catches a leader that was paused between the claim and the send. The sink
  asks it again (`Delivery.ready`) right before each post, after its own waits (pacing, the lookup
  of an earlier attempt), so a lookup's "not there" that arrives after a takeover posts nothing.
And `confirm(session)` once more when the row is marked delivered: a send whose answer came back
after the lease was lost records nothing; the next leader reconciles the row (message metadata, a
nonce) and records it once.

A single process with no replicas to fear uses `Unfenced`."""

from __future__ import annotations

from typing import Protocol

from sqlmodel import Session


class Fence(Protocol):
    def confirm(self, session: Session) -> None:
        """Raise `LeadershipLost` unless this replica still leads, as the database sees it."""

    def check(self) -> None:
        """Raise `LeadershipLost` unless the lease is surely still ours, as the local clock sees it."""


class Unfenced:
    def confirm(self, session: Session) -> None:
        return None

    def check(self) -> None:
        return None
