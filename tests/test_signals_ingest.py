"""The signal ingest route over a real socket: auth, limits, validation, classification, idempotency."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.doctor import Check, plan, run_checks
from bot.sources.signals import feed
from bot.store.models import SignalReceipt, TrafficRollup
from tests.signal_world import MODEL, TOKEN, call, minute_of, signal_world


async def test_the_route_is_off_without_a_token(tmp_path: Path) -> None:
    async with signal_world(tmp_path, signals_token=None) as world:
        response = await world.post({"source": "app", "calls": [call(world.clock.now())]})
        assert response.status_code == 404 and world.rollups() == []


async def test_a_missing_or_wrong_token_is_401_and_nothing_is_stored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with signal_world(tmp_path) as world:
        for token in (None, "wrong", TOKEN + "x", TOKEN[:-1], "Basic"):
            with caplog.at_level(logging.WARNING):
                response = await world.post({"source": "app", "calls": [call(world.clock.now())]}, token=token)
            assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer"), token
        basic = await world.http.post("/signals/claude", json={}, headers={"Authorization": f"Basic {TOKEN}"})
        assert basic.status_code == 401
        assert world.rollups() == []
        ours = [r.getMessage() for r in caplog.records if r.name.startswith("bot.")]
        assert len(ours) == 1 and TOKEN not in ours[0]  # one line a minute, however many, and no secret


async def test_any_of_several_tokens_works_while_rotating(tmp_path: Path) -> None:
    async with signal_world(tmp_path, signals_token=f"old-token, {TOKEN}") as world:
        for token in ("old-token", TOKEN):
            response = await world.post({"source": "app", "calls": [call(world.clock.now())]}, token=token)
            assert response.status_code == 202
        response = await world.post({"source": "app", "calls": [call(world.clock.now())]}, token=f"old-token,{TOKEN}")
        assert response.status_code == 401


async def test_a_good_raw_batch_is_classified_like_probe_results(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        now = world.clock.now()
        calls = [
            call(now),
            call(now, 200),
            call(now, 529, error_type="overloaded_error"),
            call(now, 500),
            call(now, status=None, error_type="timeout"),  # type: ignore[arg-type]
            call(now, 200, error_type="overloaded_error"),  # an error event inside a streamed 200
            call(now, 429, error_type="rate_limit_error"),
            call(now, 400, error_type="invalid_request_error"),
            call(now, 403, error_type="billing_error"),
            call(now, 413),
        ]
        response = await world.post({"sender": "pod-1", "source": "checkout", "calls": calls})
        assert response.status_code == 202 and response.json() == {"accepted": 10, "ignored": 0}
        [row] = world.rollups()
        assert (row.source, row.model, row.sender) == ("checkout", MODEL, "calls:pod-1")
        assert (row.ok, row.failures, row.throttled, row.caller) == (2, 4, 1, 3)
        assert row.errors == {
            "overloaded_error": 2,
            "api_error": 1,
            "timeout": 1,
            "rate_limit_error": 1,
            "invalid_request_error": 1,
            "billing_error": 1,
            "request_too_large": 1,
        }
        assert row.start == now.replace(second=0, microsecond=0) and row.latency_p95_ms == 420.0


MALFORMED = [
    pytest.param({"calls": [{"at": "x"}]}, "calls.0.at", id="bad time"),
    pytest.param({"source": "a", "calls": [{"model": MODEL, "status": 200}]}, "calls.0.at", id="no time"),
    pytest.param({"source": "a", "calls": "many"}, "calls", id="not a list"),
    pytest.param({"source": "a"}, "either calls or counts", id="neither form"),
    pytest.param({"source": "a", "calls": [], "counts": []}, "either calls or counts", id="both forms"),
    pytest.param({"calls": [{"at": "2026-04-15T13:03:00Z", "model": MODEL, "status": 200}]}, "source", id="no source"),
    pytest.param({"source": "A B", "counts": []}, "source", id="bad source"),
    pytest.param({"source": "a", "counts": [{"minute": "2026-04-15T13:03:07Z", "model": MODEL}]}, "minute", id="sec"),
    pytest.param({"source": "a", "counts": [{"minute": "2026-04-15T13:03:00", "model": MODEL}]}, "minute", id="naive"),
    pytest.param(
        {"source": "a", "counts": [{"minute": "2026-04-15T13:03:00Z", "model": MODEL, "ok": -1}]}, "ok", id="neg"
    ),
    pytest.param(
        {"source": "a", "counts": [{"minute": "2026-04-15T13:03:00Z", "model": MODEL, "errors": {"Bad Key": 1}}]},
        "errors",
        id="bad error key",
    ),
    pytest.param({"source": "a", "counts": [{"minute": "2026-04-10T13:03:00Z", "model": MODEL}]}, "day old", id="old"),
    pytest.param(
        {"source": "a", "counts": [{"minute": "2026-04-15T15:03:00Z", "model": MODEL}]}, "future", id="future"
    ),
    pytest.param({"source": "a", "calls": [], "extra": 1}, "extra", id="unknown field"),
    pytest.param([1, 2], "Input should be", id="not an object"),
]


async def test_a_malformed_batch_is_400_naming_the_field_and_nothing_of_it_is_stored(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        for case in MALFORMED:
            batch, names = case.values
            response = await world.post(batch)
            assert response.status_code == 400 and names in response.json()["error"], case.id
        assert world.rollups() == []


async def test_one_bad_call_rejects_the_whole_batch(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        calls = [call(world.clock.now()) for _ in range(5)]
        calls[3]["status"] = 999
        response = await world.post({"source": "app", "calls": calls})
        assert response.status_code == 400 and response.json()["error"].startswith("calls.3.status:")
        assert world.rollups() == []
        with world.bot.db.session() as session:
            assert session.exec(select(SignalReceipt)).all() == []
        for body in (b"{not json", b"[" * 100_000 + b"]" * 100_000):
            response = await world.post(body)
            assert response.status_code == 400 and "JSON" in response.json()["error"]


async def test_limits_on_body_size_and_batch_length(tmp_path: Path) -> None:
    async with signal_world(tmp_path, signals_max_bytes=4096, signals_max_items=20) as world:
        many = {"source": "app", "calls": [call(world.clock.now()) for _ in range(21)]}
        response = await world.post(many)
        assert response.status_code == 413 and "20" in response.json()["error"]
        many["calls"][3]["status"] = 999  # too long and wrong: the length is said first
        response = await world.post(many)
        assert response.status_code == 413 and "20" in response.json()["error"]
        many["calls"][3]["status"] = 200
        huge = b'{"source": "app", "calls": [' + b" " * 5000 + b"]}"
        response = await world.post(huge)
        assert response.status_code == 413 and "4096" in response.json()["error"]

        async def parts() -> AsyncIterator[bytes]:
            yield huge[:3000]
            yield huge[3000:]

        chunked = await world.http.post(
            "/signals/claude", content=parts(), headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert chunked.status_code == 413
        assert world.rollups() == []
        ok = await world.post({"source": "app", "calls": many["calls"][:20]})
        assert ok.status_code == 202


async def test_an_unknown_service_is_404_and_the_short_path_feeds_the_first(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        body = {"source": "app", "calls": [call(world.clock.now())]}
        assert (await world.post(body, path="/signals/nope")).status_code == 404
        assert (await world.post(body, path="/signals")).status_code == 202
        assert [r.service for r in world.rollups()] == ["claude"]


async def test_the_same_raw_batch_twice_is_taken_once(tmp_path: Path, any_db_url: str) -> None:
    async with signal_world(tmp_path, database_url=any_db_url) as world:
        now = world.clock.now()
        body = {"sender": "pod-1", "source": "app", "calls": [call(now), call(now, 529, error_type="overloaded_error")]}
        first, again = await world.post(body), await world.post(body)
        assert first.json() == {"accepted": 2, "ignored": 0} and again.json() == {"accepted": 0, "ignored": 2}
        assert again.status_code == 202
        other = {**body, "calls": [call(now + timedelta(seconds=1))]}  # a new batch of the same minute adds up
        assert (await world.post(other)).json()["accepted"] == 1
        assert world.totals() == {"ok": 2, "failures": 1, "throttled": 0, "caller": 0}


async def test_counts_are_running_totals_per_sender_and_minute(tmp_path: Path, any_db_url: str) -> None:
    async with signal_world(tmp_path, database_url=any_db_url) as world:
        minute = minute_of(world.clock.now())

        def counts(sender: str, ok: int, overloaded: int) -> dict[str, object]:
            entry = {"minute": minute, "model": MODEL, "ok": ok, "errors": {"overloaded_error": overloaded}}
            return {"sender": sender, "source": "app", "counts": [{**entry, "p95_ms": 900}]}

        assert (await world.post(counts("pod-1", 10, 1))).json() == {"accepted": 1, "ignored": 0}
        assert (await world.post(counts("pod-1", 10, 1))).json() == {"accepted": 0, "ignored": 1}  # a repeat
        assert (await world.post(counts("pod-1", 50, 4))).json()["accepted"] == 1  # the minute went on
        assert (await world.post(counts("pod-1", 30, 2))).json()["accepted"] == 0  # an older total, late
        assert (await world.post(counts("pod-2", 5, 0))).json()["accepted"] == 1  # another sender adds
        assert world.totals() == {"ok": 55, "failures": 4, "throttled": 0, "caller": 0}
        twice = counts("pod-3", 1, 0)
        twice["counts"] = [*twice["counts"], *twice["counts"]]  # type: ignore[list-item]
        response = await world.post(twice)
        assert response.status_code == 400 and "counts.1: repeats counts.0" in response.json()["error"]


async def test_a_flood_above_the_rate_is_429_with_retry_after(tmp_path: Path) -> None:
    async with signal_world(tmp_path, signals_rate=2.0) as world:
        body = {"source": "app", "calls": [call(world.clock.now())]}
        statuses = [(await world.post({**body, "sender": f"s{i}"})).status_code for i in range(6)]
        assert statuses == [202, 202, 202, 202, 429, 429]  # a burst of twice the rate, then refused
        refused = await world.post({**body, "sender": "late"})
        assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
        assert world.totals()["ok"] == 4
        world.monotonic += 1.0
        assert (await world.post({**body, "sender": "later"})).status_code == 202
        other = await world.post({**body, "sender": "x"}, token="wrong")
        assert other.status_code == 401  # a stranger's flood does not spend the token's budget


async def test_doctor_says_whether_signals_arrive(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        settings = world.bot.settings
        [spec] = [s for s in plan(settings) if s.name == "signals"]

        async def check() -> Check:
            [found] = await run_checks(settings, checks=[spec])
            return found

        never = await check()
        assert not never.ok and "no signal has arrived" in never.detail and "STATUSBOT_SIGNALS_TOKEN" in never.line()
        world.clock.set(datetime.now(UTC))
        await world.post({"source": "app", "calls": [call(world.clock.now())]})
        assert (await check()).ok
        with world.bot.db.session() as session:
            for row in session.exec(select(TrafficRollup)):
                row.received_at -= timedelta(hours=2)
                session.add(row)
            session.commit()
        stale = await check()
        assert not stale.ok and stale.detail.startswith("no signal for 2h")
    unset = await run_checks(Settings(database_url=f"sqlite:///{tmp_path / 'x.db'}"), checks=[spec])
    assert unset[0].skipped and "no STATUSBOT_SIGNALS_TOKEN" in unset[0].line()


async def test_the_detector_run_takes_each_call_once_whatever_the_replicas_wrote(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        now, minute = world.clock.now(), minute_of(world.clock.now())

        def counts(ok: int, overloaded: int, when: str = minute) -> dict[str, object]:
            entry = {"minute": when, "model": MODEL, "ok": ok, "errors": {"overloaded_error": overloaded}}
            return {"sender": "pod-1", "source": "app", "counts": [entry]}

        def take() -> list[tuple[str, int, int, dict[str, int]]]:
            with world.bot.db.session() as session:
                found = feed.take(session, world.clock.now())
                session.commit()
            return [(d.stream, d.ok, d.failed, dict(d.errors)) for d in found]

        await world.post(counts(10, 2))
        await world.post({"sender": "pod-2", "source": "app", "calls": [call(now, 529, error_type="overloaded_error")]})
        assert take() == [(f"traffic:app:{MODEL}", 10, 3, {"overloaded_error": 3})]
        assert take() == []  # nothing new
        await world.post(counts(10, 2))  # a repeat
        await world.post(counts(25, 4))  # the minute went on
        assert take() == [(f"traffic:app:{MODEL}", 15, 2, {"overloaded_error": 2})]
        old = minute_of(now - timedelta(minutes=30))  # a backlog arriving late: stored, never fed
        assert (await world.post(counts(5, 5, old))).json()["accepted"] == 1
        assert take() == []
        assert world.totals()["failures"] == 3 + 2 + 5
