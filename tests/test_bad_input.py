"""Bad input from people and strangers: a clear answer or a 4xx, one log line, nothing stored."""

from __future__ import annotations

import logging

import pytest

from bot.commands.arguments import INT4_MAX, BadArgument, incident_number
from bot.commands.context import CommandContext
from bot.commands.dispatch import dispatch
from bot.engine.events import Actor
from bot.logs import Throttled
from tests.conftest import Harness

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
