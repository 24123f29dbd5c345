"""Logging: one line per event on stderr (stdout belongs to the console sink)."""

from __future__ import annotations

import logging
import sys

QUIET = ("httpx", "httpcore", "apscheduler", "aiohttp.access", "alembic", "discord", "slack_bolt", "slack_sdk")


def setup(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s",
                                           datefmt="%Y-%m-%dT%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in QUIET:
        logging.getLogger(name).setLevel(max(logging.WARNING, root.level))
