"""The traffic signal through the detector: one step per run, in one transaction.

`step` takes what arrived since the last run (`feed.take`: per `traffic:<source>:<model>` stream, the
new good and failed calls), feeds each stream's calls to the same detector as the probes, and stores the
detector's state in `probe_state` under the stream's key, with the decisions still to act on ("due"),
in the transaction that marks the rollups fed. So a crash after the commit loses no decision: the next
leader acts on what is due (`due_left`). Throttled (429) calls and the caller's own 4xx never reach the
detector: a batch of them alone changes nothing.

Silence is no signal: a stream that stops sending is not observed at all, so it neither opens nor
resolves an incident by silence alone. An incident it opened stays open until its calls succeed again
(or the vendor or a person resolves it); calls that start failing after a silence count from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.clock import parse_time
from bot.sources.probes import detector
from bot.sources.signals import feed
from bot.store.models import ProbeState

DUE = "due"  # the key, beside the detector's own, of the decisions not yet acted on
KINDS_KEPT = 50  # failure kinds of a run passed on (the detector keeps a streak's last 50)


@dataclass(frozen=True)
class Due:
    """A decision of one traffic stream, to act on through the engine."""

    service: str
    stream: str  # traffic:<source>:<model>
    decision: detector.Decision

    @property
    def source(self) -> str:
        return self.stream.split(":", 2)[1]

    @property
    def model(self) -> str:
        return self.stream.split(":", 2)[2]

    def to_json(self) -> dict[str, Any]:
        d = self.decision
        return {
            "service": self.service,
            "action": str(d.action),
            "at": d.at.isoformat(),
            "since": d.since.isoformat() if d.since else None,
            "outcomes": list(d.outcomes),
            "reason": d.reason,
        }

    @classmethod
    def from_json(cls, stream: str, data: dict[str, Any]) -> Due:
        decision = detector.Decision(
            detector.Action(data["action"]),
            datetime.fromisoformat(data["at"]),
            parse_time(data.get("since")),
            tuple(data.get("outcomes", ())),
            data.get("reason", ""),
        )
        return cls(data["service"], stream, decision)


Suppressed = Callable[[str, str], bool]  # (service, stream) -> the vendor's maintenance covers it


def step(session: Session, now: datetime, policy: detector.Policy, suppressed: Suppressed) -> list[Due]:
    """Feed what arrived to the detector; the caller commits. Returns every decision now due."""
    due: list[Due] = []
    for delta in feed.take(session, now):
        row = session.get(ProbeState, delta.stream)
        state, waiting = load(delta.stream, row)
        quiet = bool(delta.failed) and suppressed(delta.service, delta.stream)
        state, decisions = observe(state, now, delta, policy, quiet)
        waiting += [Due(delta.service, delta.stream, d) for d in decisions]
        save(session, delta.stream, state, waiting)
        due += waiting
    return due


def observe(
    state: detector.State, now: datetime, delta: feed.Delta, policy: detector.Policy, suppressed: bool
) -> tuple[detector.State, list[detector.Decision]]:
    """One stream's new calls, counted at once at `now` on the detector's `traffic` lane (a rollup keeps
    counts, not their order)."""
    kinds = tuple(kind for kind, n in delta.errors.most_common() for _ in range(min(n, KINDS_KEPT)))[:KINDS_KEPT]
    return detector.observe_counts(state, now, delta.ok, delta.failed, policy, suppressed, kinds)


def load(stream: str, row: ProbeState | None) -> tuple[detector.State, list[Due]]:
    data = dict(row.state) if row is not None else {}
    waiting = [Due.from_json(stream, item) for item in data.pop(DUE, [])]
    return detector.State.from_json(data), waiting


def save(session: Session, stream: str, state: detector.State, waiting: list[Due]) -> None:
    data = state.to_json()
    if waiting:
        data[DUE] = [d.to_json() for d in waiting]
    row = session.get(ProbeState, stream)
    if row is None:
        session.add(ProbeState(probe=stream, state=data))
    else:
        row.state = data
        session.add(row)


def done(session: Session, stream: str) -> None:
    """The stream's due decisions were acted on (the caller commits)."""
    row = session.get(ProbeState, stream)
    if row is not None and DUE in row.state:
        row.state = {key: value for key, value in row.state.items() if key != DUE}
        session.add(row)


def due_left(session: Session) -> list[Due]:
    """Decisions a run committed but did not act on (the process died in between)."""
    query = select(ProbeState).where(col(ProbeState.probe).startswith(f"{feed.TRAFFIC}:"))
    return [due for row in session.exec(query) for due in load(row.probe, row)[1]]
