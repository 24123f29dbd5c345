"""What one probe attempt means. Pure: the Anthropic API's status codes and error types in, an outcome out.

5xx, 529, timeouts and connection failures are the vendor failing; 429 is throttling (shown, never an
outage); 400/401/403/404 mean our own configuration is wrong (classified by the body's `error.type`
where it has one, since billing errors come with differing codes); slower than the threshold is
degraded.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.outcomes import CONFIG_TYPES, FAILURE_TYPES
from bot.store.enums import ProbeOutcome


@dataclass(frozen=True)
class Attempt:
    """What came back from one request (or the exception that replaced the answer)."""

    latency_ms: float
    status_code: int | None = None
    error_type: str | None = None
    request_id: str | None = None
    exception: str | None = None  # "timeout", "connect", "protocol"
    detail: str | None = None


def classify(attempt: Attempt, expect_status: int, latency_threshold_ms: float) -> ProbeOutcome:
    if attempt.exception is not None:
        return ProbeOutcome.FAILURE
    code = attempt.status_code or 0
    if attempt.error_type in FAILURE_TYPES or code >= 500:
        return ProbeOutcome.FAILURE
    if code == 429 or attempt.error_type == "rate_limit_error":
        return ProbeOutcome.THROTTLED
    if attempt.error_type in CONFIG_TYPES or code in (400, 401, 402, 403, 404):
        return ProbeOutcome.CONFIG
    if code != expect_status:
        return ProbeOutcome.FAILURE
    if attempt.latency_ms > latency_threshold_ms:
        return ProbeOutcome.DEGRADED
    return ProbeOutcome.OK
