"""A probe and the team's own traffic failing for the same outage are one incident and one thread:
the real probe runner against the loopback Anthropic API, the real signal route and traffic detector,
in simulated time; and the incident resolves only once both have recovered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from bot.config import ProbeSpec
from bot.engine import seen_by
from bot.sources.probes import detector
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.statuspage import FakeStatuspage
from tests.probe_world import KEY
from tests.signal_world import SignalWorld, call, signal_world
from tests.test_traffic_detection import incidents, run

OPUS = "claude-opus-4-1-20250805"


async def send(world: SignalWorld, ok: int, failed: int) -> None:
    """`ok` good calls to the model and `failed` answered 529, in the last few seconds."""
    now = world.clock.now()
    calls = [call(now - timedelta(milliseconds=10 * i), model=OPUS) for i in range(ok)]
    calls += [
        call(now - timedelta(milliseconds=10 * i + 5), 529, model=OPUS, error_type="overloaded_error")
        for i in range(failed)
    ]
    response = await world.post({"sender": f"pod-{now.timestamp()}", "source": "checkout", "calls": calls})
    assert response.status_code == 202, response.text


async def probe_until(world: SignalWorld, done: Callable[[], object], runs: int = 40) -> None:
    for _ in range(runs):
        await world.bot.probes.run("api")
        await world.bot.worker.drain()
        if done():
            return
        world.clock.advance(detector.next_delay(world.bot.probes._load("api"), world.bot.probes.policy).total_seconds())
    raise AssertionError("the probe never got there")


async def test_a_probe_and_the_traffic_on_one_model_are_one_incident_until_both_recover(tmp_path: Path) -> None:
    async with (
        FakeAnthropic(api_key=KEY, model_error_rates={OPUS: 1.0}) as api,
        FakeStatuspage() as page,
        signal_world(
            tmp_path,
            anthropic_api_key=KEY,
            anthropic_base_url=api.base_url,
            connectivity_url=page.base_url + "/generate_204",
            probe_timeout=0.3,
            probes=[ProbeSpec(name="api", kind="anthropic_messages", model=OPUS)],
        ) as world,
    ):
        await probe_until(world, lambda: incidents(world))
        await send(world, 40, 0)
        await run(world)
        await send(world, 0, 30)
        await run(world)
        [incident] = incidents(world)
        opened = [line for line in world.out.getvalue().splitlines() if line.startswith("● ")]
        assert len(opened) == 1
        with world.bot.db.session() as session:
            streams = {row.stream: row.state for row in seen_by.of_incident(session, incident)}
        assert streams == {"api": "failing", f"traffic:checkout:{OPUS}": "failing"}

        api.model_error_rates[OPUS] = 0.0
        await probe_until(world, lambda: "Probe api has recovered." in world.out.getvalue())
        [incident] = incidents(world)
        assert incident.is_open  # the traffic still fails
        assert f"Probe api has recovered. Still failing: Traffic from checkout on {OPUS}." in world.out.getvalue()
        for _ in range(5):
            await send(world, 60, 0)
            await run(world)
        [incident] = incidents(world)
        assert not incident.is_open and incident.resolved_by == "traffic"
