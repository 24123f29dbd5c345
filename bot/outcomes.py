"""What an Anthropic API answer means for an outage: the error vocabulary the probes, the signal API and
the SDK reporter share. Standard library only (the reporter runs inside your application).

- failure: 5xx, 529 `overloaded_error`, `api_error`, `timeout_error`, a timeout or a broken connection;
- throttled: 429 `rate_limit_error`: shown, never an outage;
- caller: any other 4xx (`invalid_request_error`, `authentication_error`, `billing_error`, ...): the
  caller's own problem, never an outage.

Classify by `error.type` where there is one (billing errors come with differing codes), else by status.
Error keys are the API's error types, plus `timeout` and `connection_error` for no answer at all, and
`http_<status>` for an error status whose body named no type.
"""

from __future__ import annotations

import re
from enum import StrEnum

FAILURE_TYPES = frozenset({"api_error", "overloaded_error", "timeout_error", "timeout", "connection_error"})
THROTTLED_TYPES = frozenset({"rate_limit_error"})
CONFIG_TYPES = frozenset(
    {"authentication_error", "permission_error", "not_found_error", "invalid_request_error", "billing_error"}
)
STATUS_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}
ERROR_KEY = r"^[a-z][a-z0-9_]{0,39}$"
_ERROR_KEY = re.compile(ERROR_KEY)
_HTTP_KEY = re.compile(r"^http_([1-5][0-9][0-9])$")


class Verdict(StrEnum):
    OK = "ok"
    FAILURE = "failure"
    THROTTLED = "throttled"
    CALLER = "caller"


def error_key(status: int | None, error_type: str | None) -> str | None:
    """None for a good answer; else the error's key (its type, or one derived from the status)."""
    if error_type is not None and _ERROR_KEY.match(error_type):
        return error_type
    if status is None:
        return "connection_error"
    if status < 400:
        return None
    return STATUS_TYPES.get(status, f"http_{status}" if status < 600 else "api_error")


def call_verdict(status: int | None, error_type: str | None) -> Verdict:
    """One call as the probes judge one attempt: 5xx or a failure type fails, then 429 throttles, then
    any other error is the caller's."""
    if error_type in FAILURE_TYPES or (status is not None and status >= 500):
        return Verdict.FAILURE
    if error_type in THROTTLED_TYPES or status == 429:
        return Verdict.THROTTLED
    if error_type is None and status is not None and status < 400:
        return Verdict.OK
    return verdict(error_key(status, error_type))


def verdict(key: str | None) -> Verdict:
    """What one error key means. An unknown key is the caller's: garbage never opens an incident."""
    if key is None:
        return Verdict.OK
    if key in FAILURE_TYPES:
        return Verdict.FAILURE
    if key in THROTTLED_TYPES:
        return Verdict.THROTTLED
    http = _HTTP_KEY.match(key)
    if http is not None:
        code = int(http.group(1))
        return Verdict.FAILURE if code >= 500 else Verdict.THROTTLED if code == 429 else Verdict.CALLER
    return Verdict.CALLER
