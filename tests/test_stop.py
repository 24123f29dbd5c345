"""Scheduled jobs touch asyncio only from the event loop's thread, and the bot stops cleanly on
SIGTERM or SIGINT at any moment, a status-page poll in flight included."""

from __future__ import annotations

import asyncio
import inspect
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlmodel import select

from bot.clock import ManualClock
from bot.demo.scenario import Scenario
from bot.engine.events import Actor
from bot.engine.incidents import IncidentEngine
from bot.engine.timeline import incident_id
from bot.store.models import Incident
from tests.conftest import Harness
from tests.fakes.statuspage import FakeStatuspage
from tests.processes import BotProcess, wait_for

SCENARIO = Scenario.load()


async def run_jobs_now(harness: Harness, *ids: str) -> dict[str, JobExecutionEvent]:
    """Run some of the bot's own scheduled jobs now, on its scheduler; return how each one ended."""
    scheduler, loop = harness.bot.scheduler, asyncio.get_running_loop()
    ended: dict[str, JobExecutionEvent] = {}
    all_ended: asyncio.Future[None] = loop.create_future()

    def listen(event: JobExecutionEvent) -> None:
        ended.setdefault(event.job_id, event)
        if set(ids) <= set(ended) and not all_ended.done():
            all_ended.set_result(None)

    scheduler.add_listener(listen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
    for job_id in ids:
        scheduler.modify_job(job_id, next_run_time=datetime.now(UTC))
    await asyncio.wait_for(all_ended, 30)
    return ended


async def test_scheduled_jobs_and_kicks_from_other_threads_wake_delivery_safely(
    harness: Harness, page: FakeStatuspage, clock: ManualClock
) -> None:
    asyncio.get_running_loop().set_debug(True)  # asyncio then raises on a wake-up made from another thread
    page.serve_scenario(SCENARIO, 0)
    await harness.bot.start()
    await harness.poll()  # the page's history, recorded silently
    page.serve_scenario(SCENARIO, SCENARIO.moments()[0])
    await harness.poll()  # the outage begins: a thread
    clock.advance(16 * 60)  # a reminder is due, for the reminders job to send
    for job, event in (await run_jobs_now(harness, "reminders", "outbox-sweep")).items():
        assert event.exception is None, f"job {job}: {event.exception!r}"
    await wait_for(lambda: any("reminder" in line for line in harness.lines()), "the reminder, delivered")

    # An ack written without waking the bot (as `statusbot ack` does), then a kick from another thread.
    with harness.bot.db.session() as session:
        [incident] = [i for i in session.exec(select(Incident)) if i.is_open]
    IncidentEngine(harness.bot.db, list(harness.bot.sinks), clock).acknowledge(incident_id(incident), Actor("bob"))
    wake = harness.bot.worker._wake  # the kick must find delivery parked on its wake-up, where the race is
    await wait_for(lambda: bool(wake._waiters), "delivery, idle")
    errors: list[BaseException | None] = []
    previous, threading.excepthook = threading.excepthook, lambda args: errors.append(args.exc_value)
    try:
        kicker = threading.Thread(target=harness.bot.worker.kick)
        kicker.start()
        kicker.join()
    finally:
        threading.excepthook = previous
    assert errors == []
    await wait_for(lambda: any("acknowledged" in line for line in harness.lines()), "the ack, delivered")


async def test_every_scheduled_job_is_a_coroutine_so_none_runs_in_the_thread_pool(
    harness: Harness, page: FakeStatuspage
) -> None:
    page.serve_scenario(SCENARIO, 0)
    await harness.bot.start()
    jobs = harness.bot.scheduler.get_jobs()
    assert {"outbox-sweep", "reminders", "retention"} <= {job.id for job in jobs}
    assert [job.id for job in jobs if not inspect.iscoroutinefunction(job.func)] == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_a_signal_while_a_poll_is_in_flight_stops_without_a_traceback(tmp_path: Path, sig: int) -> None:
    async with FakeStatuspage() as page:
        page.stall_seconds = 60
        page.fault("stall")  # the first request hangs: the bot's first poll is in flight
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "STATUSPAGE_URL": page.base_url,
            "STATUSBOT_HTTP_TIMEOUT": "60",
            "PORT": "0",
            "STATUSBOT_HOST": "127.0.0.1",
            "STATUSBOT_CONSOLE": "true",
        }
        bot = BotProcess(env, tmp_path / "bot.out")
        await wait_for(lambda: page.stalled, "the first poll to reach the page")
        bot.proc.send_signal(sig)
        _, err = await asyncio.to_thread(bot.proc.communicate, timeout=30)
        bot.handle.close()
        page.release()
    assert bot.proc.returncode == 0, err
    assert "shutting down" in err
    assert "Traceback" not in err and " ERROR " not in err, err
