"""What people see of their own traffic, from calls posted to the real route: the incident's card and
`/claude status` say "your traffic: 23% errors on claude-opus-4-5 (1,204 calls in the last 5 min)", and
the postmortem's chart draws the traffic's error rate beside the probes'."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import select

from bot.commands.context import CommandContext
from bot.commands.dispatch import dispatch
from bot.engine.events import Actor
from bot.postmortem.chart_data import chart_data
from bot.postmortem.data import gather
from bot.store.models import Incident
from tests.signal_world import MODEL, SignalWorld, call, signal_world

LINE = f"your traffic: 23% errors on {MODEL} (1,204 calls in the last 5 min)"


async def send(world: SignalWorld, ok: int, failed: int) -> None:
    now = world.clock.now()
    calls = [call(now - timedelta(milliseconds=10 * i)) for i in range(ok)]
    calls += [call(now - timedelta(milliseconds=10 * i + 5), 529, error_type="overloaded_error") for i in range(failed)]
    response = await world.post({"sender": f"pod-{now.timestamp()}", "source": "checkout", "calls": calls})
    assert response.status_code == 202, response.text


async def run(world: SignalWorld) -> None:
    world.clock.advance(5)
    assert world.bot.traffic is not None
    await world.bot.traffic.run()
    await world.bot.worker.drain()


async def test_the_card_status_and_postmortem_chart_show_the_traffic(tmp_path: Path) -> None:
    async with signal_world(tmp_path) as world:
        await send(world, 400, 0)
        await run(world)
        await send(world, 527, 277)  # 1,204 calls in all, 277 of them failed: 23%
        await run(world)
        with world.bot.db.session() as session:
            [incident] = session.exec(select(Incident))
        assert incident.is_open and MODEL in (incident.probe_name or "")
        assert LINE in world.out.getvalue()  # the card, as the console posted it

        answer = await dispatch("status", CommandContext(Actor("alice")), world.bot.services)
        assert LINE in answer.lines

        world.clock.advance(60)
        for _ in range(3):
            await send(world, 300, 0)
            await run(world)
        with world.bot.db.session() as session:
            assert not session.exec(select(Incident)).one().is_open
        assert incident.id is not None
        chart = chart_data(gather(world.bot.db, incident.id, world.clock.now()))
        rates = [rate for _, rate in chart["traffic"]]
        assert chart["traffic_calls"] >= 1204 and max(rates) >= 23 and min(rates) < 23

    import matplotlib.pyplot as plt

    from bot.postmortem import chart as drawing

    fig = drawing.figure(chart)
    labels = [line.get_label() for axis in fig.axes for line in axis.get_lines()]
    plt.close(fig)
    assert f"your traffic ({chart['traffic_calls']:,} calls)" in labels
