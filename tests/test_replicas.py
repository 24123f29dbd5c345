"""Two `statusbot run` processes on one database: one leads, the other serves HTTP and takes over.
Real processes, a real PostgreSQL, loopback Slack and Discord; SIGKILL and SIGSTOP as they come."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.chat.slack.render import RESOLVE
from tests.fakes.network import Link
from tests.processes import wait_for
from tests.replicas_world import (
    DISCORD_SPEC,
    NO_DISCORD_SPEC,
    Replica,
    ReplicaWorld,
    Storm,
    parents_by_incident,
    replica_world,
    updates_by_incident,
)

TTL = "4"  # seconds: a paused leader loses the lease after this; kept short so the test stays lean
DELIVERY_LIMIT = 60.0
# Each scenario runs once: with Discord where its spec (../shared) lets the fake be strict, else with
# Slack alone, and the Discord half is reported skipped with the reason.
CHATS = pytest.mark.parametrize(
    "discord",
    [
        pytest.param(True, id="slack+discord", marks=pytest.mark.skipif(not DISCORD_SPEC, reason=NO_DISCORD_SPEC)),
        pytest.param(False, id="slack", marks=pytest.mark.skipif(DISCORD_SPEC, reason="slack+discord covers Slack")),
    ],
)


async def step_through(world: ReplicaWorld, upto: int, pace: float = 0.15) -> None:
    for n in range(world.served + 1, upto + 1):
        world.serve(n)
        await asyncio.sleep(pace)


def assert_exactly_once_in_order(world: ReplicaWorld) -> None:
    want = world.storm.expected(world.served)
    for platform, threads in world.chats().items():
        assert parents_by_incident(threads) == dict.fromkeys(want, 1), f"{platform}: one parent per incident"
        assert updates_by_incident(threads, world.storm.incidents) == want, f"{platform}: every update once, in order"


@CHATS
async def test_two_replicas_survive_kills_and_a_pause_with_no_duplicate(
    pg_url: str, tmp_path: Path, discord: bool
) -> None:
    storm = Storm(incidents=4, updates=8)
    async with replica_world(pg_url, tmp_path, storm, discord, STATUSBOT_LEASE_TTL=TTL) as world:
        first = world.spawn()
        await world.wait_role(first, "leader")
        second = world.spawn()
        await world.wait_role(second, "follower")

        await step_through(world, 6)
        (await world.leader()).kill()  # mid-storm: polls and sends in flight
        world.spawn()  # a replacement comes up, as Kubernetes would start one
        await step_through(world, 12)

        follower = await world.follower()
        answer = await world.slash(follower, "ack 1")
        assert answer.status_code == 200 and "acknowledged" in answer.text.lower(), answer.text
        await wait_for(lambda: any("Acknowledged by" in t for t in world.slack_threads_flat()), "the ack in Slack")

        leader = await world.leader()
        leader.pause()  # SIGSTOP for longer than the lease, in the middle of the storm
        await step_through(world, 18)
        successor = await world.leader(limit=15)
        assert successor is not leader
        await step_through(world, 22)
        leader.resume()  # it must find out before it sends anything
        await world.wait_role(leader, "follower", limit=10)
        await step_through(world, 26)
        (await world.leader()).kill()  # right after a step: the newest rows are unsent
        await step_through(world, storm.steps)
        try:
            await wait_for(world.delivered, "every update in both chats", DELIVERY_LIMIT)
        except AssertionError:
            for replica in world.replicas:
                if replica.alive:
                    replica.stop()
            raise AssertionError(world.report()) from None
        await asyncio.sleep(1.0)  # anything sent twice would arrive now
        assert_exactly_once_in_order(world)
        assert sum("Acknowledged by" in t for t in world.slack_threads_flat()) == 1

        for replica in world.replicas:
            if replica.alive:
                code, err = replica.stop()
                assert code == 0 and "Traceback" not in err, err
    logs = "\n".join(r.log.read_text() for r in world.replicas)
    assert "stopped leading" in logs and "waiting as a follower" in logs


@CHATS
async def test_a_second_process_on_one_sqlite_file_waits_as_a_follower(tmp_path: Path, discord: bool) -> None:
    storm = Storm(incidents=1, updates=3)
    async with replica_world(f"sqlite:///{tmp_path / 'bot.db'}", tmp_path, storm, discord) as world:
        first = world.spawn()
        await world.wait_role(first, "leader")
        second = world.spawn()
        await world.wait_role(second, "follower")
        assert "statusbot_leader 1.0" in await world.metrics(first)
        assert "statusbot_leader 0.0" in await world.metrics(second)
        await step_through(world, 2)
        await wait_for(world.delivered, "the first updates")
        assert gateways(world) in (None, 1)  # the follower holds no Discord gateway
        first.kill()
        await world.wait_role(second, "leader", limit=15)
        assert "statusbot_leadership_changes_total 1.0" in await world.metrics(second)
        if world.dc is not None:  # the new leader connects the gateway; the dead one's is gone
            await wait_for(lambda: world.dc is not None and world.dc.identify_count == 2, "the second IDENTIFY")
            assert gateways(world) == 1
        await step_through(world, storm.steps)
        await wait_for(world.delivered, "the rest, from the second process")
        code, err = second.stop()
    assert code == 0, err
    assert_exactly_once_in_order(world)
    waiting = [line for line in second.log.read_text().splitlines() if "waiting as a follower" in line]
    assert len(waiting) == 1, waiting


@CHATS
async def test_what_a_follower_handles_is_answered_there_and_posted_by_the_leader_at_once(
    pg_url: str, tmp_path: Path, discord: bool
) -> None:
    """A Statuspage webhook, a slash command and a button, each sent to the follower: the follower
    answers, writes the change and its outbox rows, and the leader posts them. The poll and the
    outbox sweep are ten minutes away, so only PostgreSQL's NOTIFY can wake the leader in time."""
    storm = Storm(incidents=1, updates=1)
    async with replica_world(
        pg_url, tmp_path, storm, discord, STATUSBOT_POLL_INTERVAL="600", STATUSBOT_OUTBOX_SWEEP="600"
    ) as world:
        leader = world.spawn()
        await world.wait_role(leader, "leader")
        follower = world.spawn()
        await world.wait_role(follower, "follower")
        await _first_poll(world, leader)  # the page was empty then, and is not polled again

        world.served = storm.steps  # what the webhook brings
        sent = await world.webhook(follower, storm.document(storm.steps)["incidents"][0])
        assert sent.status_code == 200, sent.text
        await wait_for(world.delivered, "the webhook's thread and update, posted by the leader", 10)

        answer = await world.slash(follower, "ack 1")
        assert answer.status_code == 200 and "acknowledged" in answer.text.lower(), answer.text
        await wait_for(lambda: _replied(world, "Acknowledged"), "the acknowledgment in every chat", 10)

        clicked = await world.click(follower, RESOLVE, 1)
        assert clicked.status_code == 200, clicked.text
        await wait_for(lambda: _replied(world, "Resolved"), "the resolution in every chat", 10)

        assert await world.role(follower) == "follower" and await world.role(leader) == "leader"
        for replica in (leader, follower):
            code, err = replica.stop()
            assert code == 0 and "Traceback" not in err, err
    assert_exactly_once_in_order(world)


async def _first_poll(world: ReplicaWorld, replica: Replica, limit: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not ((await world.health(replica)) or {}).get("pages", {}).get("claude", {}).get("last_success"):
        assert asyncio.get_running_loop().time() < deadline, f"{replica.name} never polled the page"
        await asyncio.sleep(0.05)


def _replied(world: ReplicaWorld, text: str) -> bool:
    """Every chat has exactly one reply saying `text` (more than one would be a duplicate)."""
    replies = [[r for thread in threads.values() for r in thread] for threads in world.chats().values()]
    return all(sum(text in reply for reply in chat) == 1 for chat in replies)


@CHATS
async def test_a_leader_that_loses_the_database_steps_down_and_a_follower_carries_on(
    pg_url: str, tmp_path: Path, discord: bool
) -> None:
    """The leader reaches PostgreSQL through a link that is then cut (its connections reset, new ones
    refused): the follower leads within 15 s and delivers the rest once; the old leader says so in its
    log, reports "follower", and once the link is mended it stays a follower and exits cleanly."""
    storm = Storm(incidents=2, updates=6)
    server = make_url(pg_url)
    async with (
        Link(server.host or "127.0.0.1", server.port or 5432) as link,
        replica_world(pg_url, tmp_path, storm, discord, STATUSBOT_LEASE_TTL=TTL) as world,
    ):
        first = world.spawn(DATABASE_URL=server.set(host="127.0.0.1", port=link.port).render_as_string(False))
        await world.wait_role(first, "leader")
        second = world.spawn()
        await world.wait_role(second, "follower")
        await step_through(world, 4)
        await wait_for(world.delivered, "the first updates, from the first leader")

        link.cut()
        await step_through(world, 6)
        await world.wait_role(second, "leader", limit=15)
        await step_through(world, storm.steps)
        await wait_for(world.delivered, "the rest, from the new leader", DELIVERY_LIMIT)
        status, report = await world.healthz(first)  # it answers, unhealthy, and no longer leads
        assert (status, report["role"], report["database"].split(":")[0]) == (503, "follower", "unreachable"), report

        link.mend()
        await asyncio.sleep(2 * float(TTL))  # it reconnects, and must not take the lease back
        assert await world.role(first) == "follower" and await world.role(second) == "leader"
        assert_exactly_once_in_order(world)
        for replica in (first, second):
            code, err = replica.stop()
            assert code == 0 and "Traceback" not in err, err
    logs = first.log.read_text()
    assert "stopped leading" in logs, logs
    assert logs.count("leadership: the database is unreachable") == 1, logs
    assert logs.count("bot.store.db: database unreachable") == 1, logs  # however many units of work fail
    assert logs.count("database reachable again") <= 1, logs  # and only once it really answers
    assert "leadership: the database answers again" in logs, logs


def gateways(world: ReplicaWorld) -> int | None:
    """Discord gateway connections open now (None: a world without Discord)."""
    return None if world.dc is None else world.dc.gateway_connections
