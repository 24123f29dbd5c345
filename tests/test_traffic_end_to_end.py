"""The traffic signal end to end: a real `anthropic` SDK client, instrumented by the reporter, calls a
loopback Anthropic API that fails 10% of one model's calls; the reporter sends its counts over HTTP to
the bot's real signal route; the leader's detector run (driven here on the simulated clock, as the
scheduler would every few seconds) opens an incident for that model; the vendor's own incident, polled
from the loopback status page, merges into it; and the traffic's recovery resolves it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from pathlib import Path

import anthropic
from sqlmodel import col, select

from bot.demo.scenario import Scenario
from bot.report import Reporter
from bot.sources.signals.job import TrafficDetector
from bot.store.models import Incident
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.statuspage import FakeStatuspage
from tests.signal_world import TOKEN, SignalWorld, signal_world

KEY = "sk-ant-traffic"
FAILING, HEALTHY = "claude-opus-4-1", "claude-haiku-4-5"
SCENARIO = Scenario.load()
PER_SECOND = {FAILING: 10, HEALTHY: 2}  # calls per simulated second
SEND_EVERY, RUN_EVERY = 10, 5  # the reporter's default interval; the detector run's


def call_for_a_second(client: anthropic.Anthropic) -> int:
    """One simulated second of the application's calls; how many of them failed."""
    failed = 0
    for model, n in PER_SECOND.items():
        for _ in range(n):
            try:
                client.messages.create(model=model, max_tokens=1, messages=[{"role": "user", "content": "hi"}])
            except anthropic.InternalServerError:
                failed += 1
    return failed


async def traffic_until(
    world: SignalWorld, client: anthropic.Anthropic, reporter: Reporter, done: Callable[[], bool], seconds: int
) -> int:
    """Run the application second by second, the reporter sending and the detector running on their
    own periods, until `done()`; returns the simulated seconds it took (or fails after `seconds`)."""
    detector = world.bot.traffic
    assert isinstance(detector, TrafficDetector)
    for second in range(1, seconds + 1):
        await asyncio.to_thread(call_for_a_second, client)
        world.clock.advance(1)
        if second % SEND_EVERY == 0:
            assert await asyncio.to_thread(reporter.flush)
        if second % RUN_EVERY == 0:
            await detector.run()
            await world.bot.worker.drain()
            if done():
                return second
    raise AssertionError(f"not done after {seconds} simulated seconds")


def incidents(world: SignalWorld) -> list[Incident]:
    with world.bot.db.session() as session:
        query = select(Incident).where(Incident.kind == "incident", col(Incident.announced).is_(True))
        return list(session.exec(query))


async def poll_vendor(world: SignalWorld, page: FakeStatuspage, minute: float) -> None:
    page.serve_scenario(SCENARIO, minute)
    world.clock.set(max(world.clock.now(), SCENARIO.at(minute)))
    await world.bot.poller.poll()
    await world.bot.worker.drain()


async def test_ten_percent_errors_on_one_model_open_merge_with_the_vendor_and_resolve(tmp_path: Path) -> None:
    async with (
        FakeAnthropic(api_key=KEY, model_error_rates={FAILING: 0.10}, rng=random.Random(14)) as api,
        FakeStatuspage() as page,
        signal_world(tmp_path, statuspage_url=page.base_url, auto_resolve="agree") as world,
    ):
        await poll_vendor(world, page, 0)  # the page: all operational
        url = f"http://127.0.0.1:{world.bot.http_port}"
        reporter = Reporter(url, TOKEN, "checkout", interval=3600, clock=lambda: world.clock.now().timestamp())
        client = reporter.instrument(anthropic.Anthropic(api_key=KEY, base_url=api.base_url, max_retries=0))
        try:
            took = await traffic_until(world, client, reporter, lambda: bool(incidents(world)), 600)
            [incident] = incidents(world)
            assert incident.probe_name == f"traffic:checkout:{FAILING}" and incident.upstream_id is None
            assert api.status_counts[500] > 0 and took <= 120  # at 10 calls/s, within two minutes
            # the vendor says so three minutes in: the same incident, one thread
            await poll_vendor(world, page, 3)
            [merged] = incidents(world)
            assert merged.id == incident.id and merged.upstream_id == "demo0outage1"
            assert "acknowledged this outage on its status page" in world.out.getvalue()
            # the vendor resolves while our calls still fail: `agree` holds it open
            await poll_vendor(world, page, 173)
            assert incidents(world)[0].is_open
            api.model_error_rates[FAILING] = 0.0
            await traffic_until(world, client, reporter, lambda: not incidents(world)[0].is_open, 600)
            [resolved] = incidents(world)
            assert resolved.id == incident.id and resolved.resolved_by == "traffic"
            assert not any(HEALTHY in (i.probe_name or "") for i in incidents(world))
        finally:
            client.close()
            await asyncio.to_thread(reporter.close)
