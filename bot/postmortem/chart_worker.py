"""Postmortem charts are drawn in a child process, so matplotlib (about 60 MiB once it has drawn) never
stays resident in the long-running bot.

The child (`python -m bot.postmortem.chart`) lives for a burst of charts — a replay, a catch-up after a
downtime — and exits after `idle` seconds without one, or after `per_process` charts. Frames on its
pipes: a request is a 4-byte length and the chart's JSON (bot/postmortem/chart_data.py); an answer is a
status byte (0 PNG, 1 error text), a 4-byte length and the bytes.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import bot

IDLE = 20.0  # seconds without a chart before the child exits
PER_PROCESS = 50  # charts one child draws before a fresh one takes over
TIMEOUT = 120.0  # seconds for one chart (well under one normally; a loaded machine takes a few)


class ChartFailed(Exception):
    """The chart could not be drawn; the message says why in one line. `broken`: the child is gone or
    stuck, and a fresh one takes the next chart."""

    def __init__(self, message: str, broken: bool = False) -> None:
        super().__init__(message)
        self.broken = broken


class ChartWorker:
    def __init__(self, idle: float = IDLE, per_process: int = PER_PROCESS, timeout: float = TIMEOUT) -> None:
        self.idle, self.per_process, self.timeout = idle, per_process, timeout
        self._lock = threading.Lock()  # drafts are made in threads; one chart at a time per child
        self._child: subprocess.Popen[bytes] | None = None
        self._drawn = 0
        self._generation = 0  # an idle timer only retires the child it was set for
        self._timer: threading.Timer | None = None
        self.spawned = 0

    def draw(self, chart: dict[str, Any]) -> bytes:
        with self._lock:
            self._generation += 1
            child = self._child or self._spawn()
            try:
                png = self._exchange(child, json.dumps(chart).encode())
            except ChartFailed as exc:
                if exc.broken:
                    self._retire()
                raise
            self._drawn += 1
            if self._drawn >= self.per_process or self.idle <= 0:
                self._retire()
            else:
                self._retire_after_idle()
            return png

    def warm(self) -> None:
        """Start the child now, so that it loads matplotlib while the caller does something else (the
        demo's replay, the CLI reading the incident) instead of when the first chart is wanted. Unused,
        it leaves after `idle` seconds like any child."""
        with self._lock:
            if self._child is None:
                self._spawn()
                if self.idle > 0:
                    self._generation += 1
                    self._retire_after_idle()

    def close(self) -> None:
        with self._lock:
            self._retire()

    @property
    def running(self) -> bool:
        return self._child is not None and self._child.poll() is None

    def _spawn(self) -> subprocess.Popen[bytes]:
        root = str(Path(bot.__file__).resolve().parents[1])  # the same statusbot, wherever the bot runs from
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))}
        self._child = subprocess.Popen(
            [sys.executable, "-P", "-m", "bot.postmortem.chart"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            env=env,
        )
        self._drawn = 0
        self.spawned += 1
        return self._child

    def _exchange(self, child: subprocess.Popen[bytes], request: bytes) -> bytes:
        assert child.stdin is not None and child.stdout is not None
        deadline = time.monotonic() + self.timeout
        try:
            _write(child.stdin.fileno(), len(request).to_bytes(4, "big") + request)
            status = _read(child.stdout.fileno(), 1, deadline)
            size = int.from_bytes(_read(child.stdout.fileno(), 4, deadline), "big")
            body = _read(child.stdout.fileno(), size, deadline)
        except OSError as exc:
            code = child.poll()
            raise ChartFailed(f"the chart worker stopped ({exc.strerror or exc}; exit status {code})", True) from None
        if status != b"\x00":
            raise ChartFailed(f"the chart worker could not draw it: {body.decode(errors='replace')}")
        return body

    def _retire_after_idle(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = threading.Timer(self.idle, self._retire_if_idle, (self._generation,))
        self._timer.daemon = True
        self._timer.start()

    def _retire_if_idle(self, generation: int) -> None:
        with self._lock:
            if generation == self._generation:
                self._retire()

    def _retire(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        child, self._child = self._child, None
        if child is None:
            return
        if child.stdin is not None:
            child.stdin.close()  # end of requests: the child exits
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()


def draw_once(chart: dict[str, Any]) -> bytes:
    """One chart in a child of its own (the CLI, which exits right after)."""
    return ChartWorker(idle=0).draw(chart)


def _write(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _read(fd: int, size: int, deadline: float) -> bytes:
    chunks, missing = [], size
    while missing:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise OSError("timed out waiting for the chart")
        chunk = os.read(fd, missing)
        if not chunk:
            raise OSError("it closed its output")
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)
