"""Logging: one line per event on stderr (stdout belongs to the console sink).

`STATUSBOT_LOG_FORMAT=json` writes one JSON object per line with the time, level, logger, message
and, where the event concerns one, the `incident` id and its `source`. Secrets never reach a log line:
settings hold them as SecretStr, and the webhook path's secret is not logged.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

QUIET = (
    "httpx",
    "httpcore",
    "apscheduler",
    "aiohttp.access",
    "alembic",
    "discord",
    "slack_bolt",
    "slack_sdk",
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
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
