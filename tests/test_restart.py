"""`statusbot run` as a real process, killed with SIGKILL in the middle of an outage and restarted:
nothing lost, nothing repeated but the one console line a kill may cut between printing and
recording — including an acknowledgment typed in while it was down."""

from __future__ import annotations

import asyncio
import itertools
import os
import sqlite3
from pathlib import Path

from bot.demo.scenario import Scenario
from tests.fakes.statuspage import FakeStatuspage
from tests.processes import BotProcess, cli, printed, wait_for
from tests.replicas_world import Storm, parents_by_incident, replica_world, updates_by_incident
from tests.test_replay_real import LINE


async def test_kill_9_mid_outage_then_restart(tmp_path: Path) -> None:
    scenario = Scenario.load()
    minutes = [0, *scenario.moments()]
    updates = scenario.data["incident"]["updates"]
    async with FakeStatuspage() as page:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "STATUSPAGE_URL": page.base_url,
            "STATUSBOT_POLL_INTERVAL": "0.2",
            "PORT": "0",
            "STATUSBOT_HOST": "127.0.0.1",
            "STATUSBOT_CONSOLE": "true",
            "STATUSBOT_OUTBOX_SWEEP": "0.2",
            "STATUSBOT_POSTMORTEM_DIR": str(tmp_path / "postmortems"),
        }
        outs = [tmp_path / f"run{n}.out" for n in range(3)]

        def serve(minute: float) -> None:
            docs = scenario.documents(minute)
            page.serve(incidents=docs["/api/v2/incidents.json"], summary=docs["/api/v2/summary.json"])

        def shown(count: int) -> bool:
            return sum(line.startswith("    #") for line in printed(outs)) >= count

        serve(minutes[0])
        bot = BotProcess(env, outs[0])
        for minute in minutes[1:4]:
            serve(minute)
            await wait_for(lambda m=minute: shown(sum(u["at"] <= m for u in updates)), f"minute {minute}")
        bot.kill()  # idle, between polls

        acked = cli(env, "ack", "2", "--by", "bob")  # typed while the bot is down
        assert acked.returncode == 0, acked.stderr
        serve(minutes[4])
        bot = BotProcess(env, outs[1])
        await wait_for(lambda: any("acknowledged" in line for line in printed(outs)), "the ack")
        requests_before = len(page.requests)
        serve(minutes[5])
        await wait_for(lambda: len(page.requests) > requests_before, "a poll of the new page")
        bot.kill()  # in the middle of fetching, applying or printing

        bot = BotProcess(env, outs[2])
        for minute in minutes[5:]:
            serve(minute)
            await wait_for(lambda m=minute: shown(sum(u["at"] <= m for u in updates)), f"minute {minute}")
        await wait_for(lambda: any(line.startswith("✔") for line in printed(outs)), "the resolution")
        code, err = bot.stop()

    assert code == 0, err
    assert "Traceback" not in err
    lines = _once(outs)
    threads = [line for line in lines if line.startswith("    #2 ")]
    bodies = [LINE.match(line).group(3).split("  [")[0] for line in threads]  # type: ignore[union-attr]
    assert [u["body"] for u in updates] == [b for b in bodies if b != "Acknowledged by bob"]
    assert sum("acknowledged  Acknowledged by bob" in line for line in lines) == 1
    assert sum(line.startswith("● #2 ") for line in lines) == 1


def _once(outs: list[Path]) -> list[str]:
    """Every line printed, each once. The console cannot look up what it printed (a chat can): a kill
    in the instant between printing a line and recording it repeats that one line, the last of the
    killed run, as the first of the next. Nothing else may repeat."""
    runs = [out.read_text().splitlines() for out in outs]
    for before, after in itertools.pairwise(runs):
        if before and after and after[0] == before[-1]:
            after.pop(0)
    lines = [line for run in runs for line in run]
    assert len(lines) == len(set(lines)), "a line was printed twice"
    return lines


def undelivered(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox WHERE delivered_at IS NULL").fetchone()[0])


async def test_kill_9_while_slack_holds_the_answer_of_a_post(tmp_path: Path) -> None:
    """The post is in Slack, its answer never reaches the bot: after the restart the bot finds it
    through `conversations.history` (a parent) and `conversations.replies` (a reply) by the outbox
    key in its message metadata, as on real Slack, and posts neither again."""
    storm, path = Storm(incidents=1, updates=3), tmp_path / "bot.db"
    async with replica_world(f"sqlite:///{path}", tmp_path, storm, discord=False) as world:
        slack = world.slack
        for step, lookup in ((1, "conversations.history"), (2, "conversations.replies")):
            bot = world.spawn()
            await world.leader()
            held = slack.hold_answer_next("chat.postMessage")
            world.serve(step)
            await asyncio.wait_for(held.arrived.wait(), 30)
            bot.kill()  # the post has landed in Slack; its answer is still held
            held.release()
            looked_up = len(slack.calls_to(lookup))
            world.spawn()
            await wait_for(lambda: undelivered(path) == 0, f"step {step}: the outbox empty after the restart")
            assert len(slack.calls_to(lookup)) > looked_up, f"step {step}: no {lookup} after the restart"
            world.replicas[-1].kill()
        world.serve(3)
        world.spawn()
        await wait_for(world.delivered, "the last update")
        threads = world.slack_threads()
    assert parents_by_incident(threads) == {0: 1}, world.report()
    assert updates_by_incident(threads, 1) == {0: [0, 1, 2]}, world.report()
