"""Sends the tally to the bot from a background thread, with the standard library only.

Every `interval` seconds (and once more at exit) it POSTs the running totals of the minutes it holds to
`<url>/signals/<service>` with the bearer token, in batches of at most `batch` entries. A 202 lets the
tally forget the minutes that are over; a 429 pauses sending for its Retry-After; anything else (the
bot down, a wrong token) keeps the totals for the next try, until they are too old and are dropped and
counted. A problem is logged once a minute per kind, never with the token.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from bot.report.tally import Snapshot, Tally

log = logging.getLogger("statusbot.report")
ONE_LOG_PER = 60.0


class Sender:
    def __init__(
        self,
        endpoint: str,
        token: str,
        sender: str,
        tally: Tally,
        interval: float = 10.0,
        timeout: float = 5.0,
        batch: int = 500,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint, self.sender, self.tally = endpoint, sender, tally
        self._headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        self.interval, self.timeout, self.batch = interval, timeout, batch
        self.monotonic = monotonic
        self.batches_sent = 0
        self.send_failures = 0
        self._paused_until = 0.0
        self._logged: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="statusbot-report", daemon=True)
            self._thread.start()

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread and make one last send."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
        self._thread = None
        self.flush()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.flush()

    def flush(self) -> bool:
        """Send what the tally holds; True when all of it was taken. Never raises."""
        try:
            if self.monotonic() < self._paused_until:
                return False
            snapshot = self.tally.snapshot()
            for start in range(0, len(snapshot), self.batch):
                part = snapshot[start : start + self.batch]
                if not self._post(part):
                    return False
                self.tally.accepted(part)
            return True
        except Exception as exc:  # a bug here must not reach the application
            self._warn("bug", "statusbot reporter: could not send (%s)", type(exc).__name__)
            return False

    def _post(self, part: Snapshot) -> bool:
        body = json.dumps({"sender": self.sender, "counts": [entry for _, _, entry in part]}).encode()
        request = urllib.request.Request(self.endpoint, data=body, headers=self._headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
            self.batches_sent += 1
            return True
        except urllib.error.HTTPError as exc:
            self.send_failures += 1
            if exc.code == 429:
                self._paused_until = self.monotonic() + _seconds(exc.headers.get("Retry-After"))
            self._warn(f"http{exc.code}", "statusbot reporter: the bot answered HTTP %s at %s", exc.code, self.endpoint)
        except (OSError, ValueError) as exc:  # URLError, timeouts, a refused connection
            self.send_failures += 1
            self._warn("network", "statusbot reporter: cannot reach %s (%s)", self.endpoint, type(exc).__name__)
        return False

    def _warn(self, kind: str, message: str, *args: object) -> None:
        now = self.monotonic()
        if now - self._logged.get(kind, -ONE_LOG_PER) >= ONE_LOG_PER:
            self._logged[kind] = now
            log.warning(message, *args)


def _seconds(value: str | None) -> float:
    try:
        return min(max(float(value or 1), 0.0), 300.0)
    except ValueError:
        return 1.0
