"""Failover under an incident storm: two `statusbot run` replicas on one PostgreSQL database, Slack
and Discord fakes, 20 SIGKILLs of the leader (a replacement replica starts after each, as a
Deployment would) and 5 SIGSTOPs longer than the lease, then SIGCONT. Prints the failover time
(disruption -> another replica reports "leader" on /healthz), duplicates and lost updates in both
chats, and `/claude status` latency on the follower while the leader is gone.

The lease is the default 10 s. After a SIGKILL on the same host the follower sees the holder's
process is gone and need not wait for the lease; after a SIGSTOP (or on another machine) it waits
for the lease to run out."""

# ruff: noqa: E402  (discord must be imported before bench/ is on the path: bench/discord.py)
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

_HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != _HERE]
import discord  # noqa: F401  (the library, before bench/discord.py could shadow it)

sys.path.insert(0, _HERE)
from _common import ms, percentile

from tests import postgres
from tests.processes import wait_for
from tests.replicas_world import Replica, ReplicaWorld, Storm, parents_by_incident, replica_world, updates_by_incident

KILLS, PAUSES = 20, 5
FAILED: list[float] = []  # /claude status requests that timed out or were refused
PAUSE_FOR = 13.0  # longer than the 10 s lease


async def storm_feed(world: ReplicaWorld, pace: float) -> None:
    for n in range(1, world.storm.steps + 1):
        world.serve(n)
        await asyncio.sleep(pace)


async def measure_failover(world: ReplicaWorld, old: object, latencies: list[float]) -> float:
    """Until another replica leads; meanwhile `/claude status` on a follower, timed."""
    started = time.monotonic()
    while True:
        for replica in world.replicas:
            if replica is not old and replica.alive and not replica.stopped:
                if await world.role(replica) == "leader":
                    return time.monotonic() - started
                t0 = time.perf_counter()
                try:
                    answer = await world.slash(replica, "status")
                except httpx.HTTPError:
                    FAILED.append(time.perf_counter() - t0)
                    continue
                if answer.status_code == 200:
                    latencies.append(time.perf_counter() - t0)
                else:
                    FAILED.append(time.perf_counter() - t0)
        await asyncio.sleep(0.05)


async def leader_and_ready_follower(world: ReplicaWorld, limit: float = 60.0) -> Replica:
    """The leader, once another replica (alive, not paused) answers /healthz as a follower, and the
    leader still leads after that: a disruption then always has somewhere to fail over to."""
    deadline = time.monotonic() + limit
    while True:
        leader = await world.leader(limit)
        for replica in world.replicas:
            if replica is leader or not replica.alive or replica.stopped:
                continue
            if await world.role(replica) == "follower" and await world.role(leader) == "leader":
                return leader
        assert time.monotonic() < deadline, "no ready follower beside the leader"
        await asyncio.sleep(0.1)


def spontaneous_lapses(world: ReplicaWorld, paused: dict[str, int]) -> int:
    """Times a replica stopped leading that no pause of ours explains (a SIGKILLed one logs nothing;
    a paused one, one line when it resumes)."""
    lapses = 0
    for replica in world.replicas:
        lines = replica.log.read_text().count("stopped leading") if replica.log.exists() else 0
        lapses += max(0, lines - paused.get(replica.name, 0))
    return lapses


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=KILLS)
    parser.add_argument("--pauses", type=int, default=PAUSES)
    parser.add_argument("--updates", type=int, default=40, help="updates per incident (10 incidents)")
    args = parser.parse_args()
    if (reason := postgres.unavailable()) is not None:
        print(f"no PostgreSQL: {reason}")
        return
    storm = Storm(incidents=10, updates=args.updates)
    kills: list[float] = []
    pauses: list[float] = []
    latencies: list[float] = []
    paused: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp, postgres.fresh_database() as url:
        async with replica_world(url, Path(tmp), storm) as world:
            world.spawn()
            await world.leader()
            world.spawn()
            await leader_and_ready_follower(world)
            feed = asyncio.create_task(storm_feed(world, pace=0.5))
            plan = ["kill"] * args.kills + ["pause"] * args.pauses
            plan = [plan[i] for i in sorted(range(len(plan)), key=lambda i: (i * 7) % len(plan))]  # interleaved
            for action in plan:
                leader = await leader_and_ready_follower(world)
                if action == "kill":
                    leader.kill()
                    kills.append(await measure_failover(world, leader, latencies))
                    world.spawn()
                else:
                    leader.pause()
                    paused[leader.name] = paused.get(leader.name, 0) + 1
                    pauses.append(await measure_failover(world, leader, latencies))
                    await asyncio.sleep(max(0.0, PAUSE_FOR - pauses[-1]))
                    leader.resume()
                    await world.wait_role(leader, "follower", limit=30)
            await feed
            await wait_for(world.delivered, "every update", 300)
            await asyncio.sleep(2.0)
            counts = {}
            for name, threads in world.chats().items():
                seen = updates_by_incident(threads, storm.incidents)
                want = storm.expected()
                duplicates = sum(len(v) - len(set(v)) for v in seen.values())
                duplicates += sum(n - 1 for n in parents_by_incident(threads).values())
                lost = sum(len(set(want[i]) - set(seen.get(i, []))) for i in want)
                misplaced = sum(v.count(-1) for v in seen.values())
                counts[name] = (duplicates, lost, misplaced)
            for replica in world.replicas:
                if replica.alive:
                    replica.stop()
            lapses = spontaneous_lapses(world, paused)
    print(f"storm: {storm.steps} updates across {storm.incidents} incidents; lease 10 s; 2 replicas on PostgreSQL")
    for what, times in (("SIGKILL", kills), ("SIGSTOP past the lease", pauses)):
        if times:
            print(f"failover after {what} ({len(times)}): p50 {percentile(times, 50):.2f} s, max {max(times):.2f} s")
    print(f"spontaneous lapses of leadership (no kill or pause of ours): {lapses}")
    for name, (duplicates, lost, misplaced) in counts.items():
        print(f"{name}: {duplicates} duplicates, {lost} lost updates, {misplaced} in the wrong thread")
    print(
        f"/claude status on the follower during failover: p50 {ms(percentile(latencies, 50))},"
        f" p99 {ms(percentile(latencies, 99))} over {len(latencies)} answered requests; {len(FAILED)} not answered"
    )


if __name__ == "__main__":
    asyncio.run(main())
