"""`statusbot` as real child processes, for tests that kill, restart or run several of it."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

STARTUP_LIMIT = 30.0


class BotProcess:
    """`python -m bot run` with the given environment, its stdout written to `out`."""

    def __init__(self, env: dict[str, str], out: Path, *args: str) -> None:
        self.out = out
        self.handle = out.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", *(args or ("run",))],
            env=env,
            stdout=self.handle,
            stderr=subprocess.PIPE,
            text=True,
        )

    def kill(self) -> str:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.handle.close()
        assert self.proc.stderr is not None
        return self.proc.stderr.read()

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=15)
        self.handle.close()
        return self.proc.returncode, err


def printed(outs: list[Path]) -> list[str]:
    return [line for out in outs if out.exists() for line in out.read_text().splitlines()]


async def wait_for(condition: Callable[[], object], what: str, limit: float = STARTUP_LIMIT) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, capture_output=True, text=True, timeout=60)
