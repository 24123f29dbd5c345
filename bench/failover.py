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
from tests.replicas_world import ReplicaWorld, Storm, parents_by_incident, replica_world, updates_by_incident

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


async def main() -> None:
    if (reason := postgres.unavailable()) is not None:
        print(f"no PostgreSQL: {reason}")
        return
    storm = Storm(incidents=10, updates=40)
    kills: list[float] = []
    pauses: list[float] = []
    latencies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, postgres.fresh_database() as url:
        async with replica_world(url, Path(tmp), storm) as world:
            world.spawn()
            await world.leader()
            world.spawn()
            await world.follower()
            feed = asyncio.create_task(storm_feed(world, pace=0.5))
            plan = ["kill"] * KILLS + ["pause"] * PAUSES
            plan = [plan[i] for i in sorted(range(len(plan)), key=lambda i: (i * 7) % len(plan))]  # interleaved
            for action in plan:
                leader = await world.leader()
                await world.follower()
                if action == "kill":
                    leader.kill()
                    kills.append(await measure_failover(world, leader, latencies))
                    world.spawn()
                else:
                    leader.pause()
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
    print(f"storm: {storm.steps} updates across {storm.incidents} incidents; lease 10 s; 2 replicas on PostgreSQL")
    print(f"failover after SIGKILL ({len(kills)}): p50 {percentile(kills, 50):.2f} s, max {max(kills):.2f} s")
    print(
        f"failover after SIGSTOP past the lease ({len(pauses)}): p50 {percentile(pauses, 50):.2f} s,"
        f" max {max(pauses):.2f} s"
    )
    for name, (duplicates, lost, misplaced) in counts.items():
        print(f"{name}: {duplicates} duplicates, {lost} lost updates, {misplaced} in the wrong thread")
    print(
        f"/claude status on the follower during failover: p50 {ms(percentile(latencies, 50))},"
        f" p99 {ms(percentile(latencies, 99))} over {len(latencies)} answered requests; {len(FAILED)} not answered"
    )


if __name__ == "__main__":
    asyncio.run(main())
