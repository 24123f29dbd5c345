"""Every duration statusbot shows, computed in one place, so that the console, `show`, the chat cards,
the postmortem, `--json` and the stats agree, and none is ever negative.

- **lasted**: the incident's start (the vendor's `started_at` or its first update, whichever is
  earlier, or our first failing probe) to its resolution, or to now while it is open.
- **TTA / TTR**: from our detection (the first failing probe, or the moment we first saw the vendor's
  incident) to the acknowledgment / the resolution. Incidents recorded as history (on the first start,
  after a downtime longer than the catch-up window, by backfill) were never detected by us: they have
  neither, and the "from our detection" figures leave them out.
- **vendor TTR**: the vendor's own `started_at` → resolution.
- **lead**: how long before the vendor's first update we knew — only when our signal came first.
  Otherwise "the vendor was first" (or nothing, when the vendor never said anything). "We knew" is
  the moment our first stream reported the incident (crossed its threshold), not the first failure
  it saw; an incident no stream of ours saw counts from the moment we first read it on the page.
  The card says it in words (`timing`): "seen 6m 12s before the vendor posted", or "the vendor
  posted first, 2m 05s before our own signal".

A pair whose end comes before its start (an incident first seen after it resolved, a vendor's
back-dated time) gives no figure rather than a negative one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

NONE = "—"
ZERO = timedelta(0)


@dataclass(frozen=True)
class Durations:
    lasted: timedelta
    tta: timedelta | None
    ttr: timedelta | None
    vendor_ttr: timedelta | None
    lead: timedelta | None
    vendor_first: bool  # the vendor's first update came before (or with) our own detection
    detected: bool  # False: recorded as history, never seen live
    behind: timedelta | None = None  # how long after the vendor's first update our own stream reported it

    @property
    def timing(self) -> str | None:
        """The card's line about who knew first; None when only one side has said anything."""
        if self.lead is not None:
            return f"seen {human_duration(self.lead)} before the vendor posted"
        if self.behind is None:
            return None
        if self.behind == ZERO:
            return "seen as the vendor posted"
        return f"the vendor posted first, {human_duration(self.behind)} before our own signal"

    @property
    def lead_text(self) -> str:
        if self.lead is not None:
            return human_duration(self.lead)
        return "the vendor was first" if self.vendor_first else NONE


def span(start: datetime | None, end: datetime | None) -> timedelta | None:
    """end - start, or None when either is unknown or the end comes first."""
    if start is None or end is None or end < start:
        return None
    return end - start


def lasted(started: datetime, resolved: datetime | None, now: datetime) -> timedelta:
    return max(ZERO, (resolved or now) - started)


def lead(detected: datetime | None, vendor_first_update: datetime | None) -> tuple[timedelta | None, bool]:
    """(our lead, whether the vendor was first). Never negative: a vendor that spoke first has no lead."""
    if detected is None or vendor_first_update is None:
        return None, False
    if detected < vendor_first_update:
        return vendor_first_update - detected, False
    return None, True


def compute(
    *,
    started: datetime,
    detected: datetime | None,
    vendor_first_update: datetime | None,
    acknowledged: datetime | None,
    resolved: datetime | None,
    vendor_started: datetime | None,
    vendor_resolved: datetime | None,
    now: datetime,
    signalled: datetime | None = None,
) -> Durations:
    """`signalled`: when our first stream reported it (None: no stream of ours did)."""
    ahead, vendor_first = lead(signalled or detected, vendor_first_update)
    # A retroactive vendor incident is created after the fact: its updates are dated before its start.
    began = min(started, vendor_first_update) if vendor_first_update else started
    return Durations(
        lasted=lasted(began, resolved, now),
        tta=span(detected, acknowledged),
        ttr=span(detected, resolved),
        vendor_ttr=span(vendor_started or started, vendor_resolved),
        lead=ahead,
        vendor_first=vendor_first,
        detected=detected is not None,
        behind=span(vendor_first_update, signalled) if signalled is not None and vendor_first else None,
    )


def human_duration(delta: timedelta | None) -> str:
    """`2h 53m`, `9m 00s`, `41s`, `3d 4h`; `-` for no figure."""
    if delta is None:
        return "-"
    seconds = int(abs(delta.total_seconds()))
    sign = "-" if delta.total_seconds() < 0 else ""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{sign}{days}d {hours}h"
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s" if minutes < 10 else f"{sign}{minutes}m"
    return f"{sign}{secs}s"
