"""Who may resolve an incident that both the vendor and our probes know of."""

from __future__ import annotations

from enum import StrEnum


class AutoResolve(StrEnum):
    """`vendor`: the vendor's resolution closes it, our recovered probes wait for the vendor.
    `agree`: the vendor's resolution waits while our probe still fails.
    `either`: whichever says resolved first closes it."""

    VENDOR = "vendor"
    AGREE = "agree"
    EITHER = "either"
