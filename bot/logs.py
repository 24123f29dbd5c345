"""Logging: one line per event on stderr (stdout belongs to the console sink).

`STATUSBOT_LOG_FORMAT=json` writes one JSON object per line with the time, level, logger, message
and, where the event concerns one, the `incident` id and its `source`. Secrets never reach a log line:
settings hold them as SecretStr, and the webhook path's secret is not logged.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

QUIET = (
    "httpx",
    "httpcore",
    "apscheduler",
    "aiohttp.access",
    "alembic",
    "matplotlib",
    "PIL",
)
CONTEXT = ("incident", "source", "service", "probe", "sink")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({key: getattr(record, key) for key in CONTEXT if hasattr(record, key)})
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info).splitlines()[-1]
        return json.dumps(line, ensure_ascii=False, default=str)


def setup(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter()
        if fmt == "json"
        else logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", datefmt="%Y-%m-%dT%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    from bot.chat.room import rooms  # here, not at import: logging must not load the settings

    for name in (*QUIET, *(logger for room in rooms() for logger in room.loggers)):
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))


class Throttled:
    """One log line per kind of bad input, at most once per `every` seconds per kind.

    Garbage arrives in floods (a fuzzer, a broken page, a stranger scanning the webhook path); the
    log should say what is wrong and how often, not repeat it ten thousand times. The first line of a
    kind is written at once; later ones within the minute are counted, and the next line written for
    that kind says how many were left out.
    """

    def __init__(self, logger: logging.Logger, every: float = 60.0, monotonic: Callable[[], float] = time.monotonic):
        self.logger = logger
        self.every = every
        self._monotonic = monotonic
        self._last: dict[str, float] = {}
        self._dropped: dict[str, int] = {}

    def warning(self, kind: str, message: str, *args: object, **extra: object) -> bool:
        """Log `message % args` unless `kind` was logged less than `every` seconds ago. True if written."""
        now = self._monotonic()
        last = self._last.get(kind)
        if last is not None and now - last < self.every:
            self._dropped[kind] = self._dropped.get(kind, 0) + 1
            return False
        self._last[kind] = now
        dropped = self._dropped.pop(kind, 0)
        suffix = f" ({dropped} more like it since the last such line)" if dropped else ""
        self.logger.warning(message + suffix, *args, extra=extra or None)
        return True
