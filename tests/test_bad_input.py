"""Bad input from people and strangers: a clear answer or a 4xx, one log line, nothing stored."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest
from sqlmodel import func, select

from bot.commands.arguments import BadArgument, incident_number
from bot.commands.context import CommandContext
from bot.commands.dispatch import dispatch
from bot.engine.events import Actor
from bot.logs import Throttled
from bot.store.limits import INT4_MAX
from bot.store.models import ComponentState, Incident
from tests.conftest import SECRET, Harness

ALICE = Actor(name="alice", id="U1", platform="slack")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("ack ²", "`²` is not an incident number"),
        ("ack ٣", "`٣` is not an incident number"),
        ("resolve 99999999999999999999999", "There is no incident #99999999999999999999999"),
        (f"show {INT4_MAX + 1}", f"There is no incident #{INT4_MAX + 1}"),
        ("show #0", "There is no incident #0"),
        ("show ##1", "`##1` is not an incident number"),
        ("show \ud800", "`?` is not an incident number"),
        ("snooze 1 ²", "`²` is not a number of minutes (1 to 1440)"),
        ("snooze 1 99999999999999999999", "is not a number of minutes"),
        ("stats \x00", "`?` is not a window"),
    ],
)
async def test_garbage_arguments_get_an_answer_not_a_traceback(
    harness: Harness, caplog: pytest.LogCaptureFixture, text: str, words: str
) -> None:
    with caplog.at_level(logging.INFO):
        answer = await dispatch(text, CommandContext(ALICE), harness.bot.services)
    assert not answer.ok and words in answer.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_incident_numbers_are_ascii_digits_within_the_column() -> None:
    assert incident_number("12") == 12 and incident_number("#12") == 12 and incident_number(str(INT4_MAX)) == INT4_MAX
    for bad in ("", "#", "-1", "+1", "1.0", "1e3", " 1", "١٢", "0x10", str(INT4_MAX + 1), "9" * 400):
        with pytest.raises(BadArgument):
            incident_number(bad)


def test_throttled_logs_once_per_minute_per_kind_and_counts_the_rest(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    throttled = Throttled(logging.getLogger("test.throttled"), every=60, monotonic=lambda: now[0])
    with caplog.at_level(logging.WARNING):
        written = [throttled.warning("a", "bad a %d", n) for n in range(5)]
        throttled.warning("b", "bad b")
        now[0] = 61.0
        throttled.warning("a", "bad a %d", 99)
    assert written == [True, False, False, False, False]
    assert [r.getMessage() for r in caplog.records] == [
        "bad a 0",
        "bad b",
        "bad a 99 (4 more like it since the last such line)",
    ]


def _incident(**changes: Any) -> dict[str, Any]:
    incident = {
        "id": "garb4ge0test",
        "name": "Elevated errors",
        "status": "investigating",
        "impact": "major",
        "created_at": "2026-04-15T13:00:00Z",
        "incident_updates": [
            {"id": "u1", "status": "investigating", "body": "Looking.", "created_at": "2026-04-15T13:00:00Z"}
        ],
        "components": [{"id": "c1", "name": "API", "status": "major_outage", "position": 1}],
    }
    incident.update(changes)
    return {"meta": {}, "page": {"id": "p"}, "incident": incident}


def _component(**changes: Any) -> dict[str, Any]:
    return {"component": {"id": "c1", "name": "API", "status": "major_outage", **changes}}


def _nested(depth: int) -> bytes:
    return b'{"incident": ' + b"[" * depth + b"]" * depth + b"}"


GARBAGE = {
    "nested 100,000 deep": _nested(100_000),
    "nested 33 deep": _nested(33),
    "position 2**63": json.dumps(_component(position=2**63)).encode(),
    "position 1e30": json.dumps(_component(position=1e30)).encode(),
    "position -2**31-1": json.dumps(_component(position=-(2**31) - 1)).encode(),
    "year 9999 west of UTC": json.dumps(_incident(created_at="9999-12-31T23:59:59-05:00")).encode(),
    "year 1 east of UTC": json.dumps(_incident(created_at="0001-01-01T00:00:00+05:00")).encode(),
    "NaN": b'{"component": {"id": "c1", "name": "API", "position": NaN}}',
    "1e400": b'{"component": {"id": "c1", "name": "API", "position": 1e400}}',
    "not UTF-8": b'{"component": {"id": "c1", "name": "\xff\xfe"}}',
}


@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_webhooks_are_4xx_and_store_nothing(
    harness: Harness, served: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    with caplog.at_level(logging.WARNING):
        answer = await served.post(f"/webhooks/statuspage/{SECRET}", content=body)
    assert answer.status_code == 400, answer.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    with harness.bot.db.session() as session:
        assert session.exec(select(func.count()).select_from(Incident)).one() == 0
        assert session.exec(select(func.count()).select_from(ComponentState)).one() == 0


async def test_unstorable_characters_are_cleaned_not_refused(harness: Harness, served: httpx.AsyncClient) -> None:
    raw = json.dumps(_incident(name="Errors \ud800 on\x00 the API")).encode()  # json.dumps writes \\ud800, \\u0000
    answer = await served.post(f"/webhooks/statuspage/{SECRET}", content=raw)
    assert answer.status_code == 200, answer.text
    with harness.bot.db.session() as session:
        assert session.exec(select(Incident)).one().title == "Errors \ufffd on the API"


async def test_a_position_at_the_int4_bound_is_kept(harness: Harness, served: httpx.AsyncClient) -> None:
    answer = await served.post(f"/webhooks/statuspage/{SECRET}", json=_component(position=INT4_MAX))
    assert answer.status_code == 200
    with harness.bot.db.session() as session:
        assert session.exec(select(ComponentState)).one().position == INT4_MAX


async def test_a_webhook_delivered_late_does_not_undo_a_newer_one(harness: Harness, served: httpx.AsyncClient) -> None:
    first = {"id": "u1", "status": "identified", "body": "Found it.", "created_at": "2026-04-15T13:00:00Z"}
    resolved = {"id": "u2", "status": "resolved", "body": "Fixed.", "created_at": "2026-04-15T13:30:00Z"}
    newer = _incident(status="resolved", incident_updates=[resolved, first])
    older = _incident(status="identified", incident_updates=[first])
    for payload in (newer, older):  # Statuspage retries and reorders: the older one arrives last
        assert (await served.post(f"/webhooks/statuspage/{SECRET}", json=payload)).status_code == 200
    with harness.bot.db.session() as session:
        incident = session.exec(select(Incident)).one()
    assert not incident.is_open and incident.resolved_by == "vendor"


async def test_a_flood_of_garbage_logs_one_line_per_kind(
    harness: Harness, served: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A stranger scanning the webhook path, a broken sender and a user hammering `ack ²`: each kind
    of refusal is one line (within the minute), however many requests come."""
    with caplog.at_level(logging.INFO):
        for n in range(30):
            assert (await served.post(f"/webhooks/statuspage/wrong{n}", content=b"{}")).status_code == 404
            assert (await served.post(f"/webhooks/statuspage/{SECRET}", content=b"{" * n)).status_code == 400
            position = json.dumps(_component(position=2**40 + n)).encode()
            assert (await served.post(f"/webhooks/statuspage/{SECRET}", content=position)).status_code == 400
            assert not (await dispatch(f"ack ²{n}", CommandContext(ALICE), harness.bot.services)).ok
    lines = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert sum("wrong secret" in line for line in lines) == 1, lines
    assert sum("not JSON" in line for line in lines) == 1, lines
    assert sum("position" in line for line in lines) == 1, lines
    assert sum("refused `ack` arguments" in line for line in lines) == 1, lines
    assert len(lines) == 4, lines


async def test_a_webhook_without_updates_does_not_reopen_a_resolved_incident(
    harness: Harness, served: httpx.AsyncClient
) -> None:
    """Statuspage never sends an incident without its updates: one that comes without them (garbled,
    or cut short) cannot say whether it is newer than what is known, so it changes no state."""
    first = {"id": "u1", "status": "identified", "body": "Found it.", "created_at": "2026-04-15T13:00:00Z"}
    resolved = {"id": "u2", "status": "resolved", "body": "Fixed.", "created_at": "2026-04-15T13:30:00Z"}
    closed = _incident(status="resolved", incident_updates=[resolved, first])
    assert (await served.post(f"/webhooks/statuspage/{SECRET}", json=closed)).status_code == 200
    bare = _incident(status="identified", name="Renamed", incident_updates=[])
    assert (await served.post(f"/webhooks/statuspage/{SECRET}", json=bare)).status_code == 200
    with harness.bot.db.session() as session:
        incident = session.exec(select(Incident)).one()
    assert not incident.is_open and incident.resolved_by == "vendor" and incident.title == "Elevated errors"
