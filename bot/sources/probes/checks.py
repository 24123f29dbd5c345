"""The probes' `statusbot doctor` check: the Anthropic API accepts the key."""

from __future__ import annotations

import httpx

from bot.config import Settings
from bot.doctor import NOT_CONFIGURED, Check, Doctor, Spec, failed, passed, skipped
from bot.sources.probes.kinds import ANTHROPIC_VERSION


def checks(settings: Settings) -> list[Spec]:
    return [Spec("anthropic api", check_anthropic, "check ANTHROPIC_BASE_URL and this host's network")]


async def check_anthropic(doctor: Doctor) -> Check:
    key = doctor.settings.anthropic_api_key
    if key is None:
        return skipped(f"{NOT_CONFIGURED} (no ANTHROPIC_API_KEY: the Anthropic probes are off)")
    base = str(doctor.settings.anthropic_base_url).rstrip("/")
    headers = {"x-api-key": key.get_secret_value(), "anthropic-version": ANTHROPIC_VERSION}
    response = await doctor.get(f"{base}/v1/models", params={"limit": 1}, headers=headers)
    status, why = response.status_code, _anthropic_error(response)
    if status == 200:
        return passed(f"{base} accepts the key (GET /v1/models)")
    if status == 429:
        return passed(f"{base} accepts the key, but is rate-limiting it right now ({why})")
    if status == 401:
        return failed(
            f"{base} refuses the key ({why})",
            "set ANTHROPIC_API_KEY to an active key from console.anthropic.com → Settings → API keys",
        )
    if status == 403:
        return failed(
            f"the key may not use the API ({why})",
            "use a key of a workspace with API access (console.anthropic.com → Settings → API keys)",
        )
    if status == 404:
        return failed(
            f"there is no Anthropic API at {base} ({why})",
            "check ANTHROPIC_BASE_URL (default https://api.anthropic.com)",
        )
    return failed(
        f"{base} answers {why}", "the API itself is failing: try again later (statusbot's probes report such outages)"
    )


def _anthropic_error(response: httpx.Response) -> str:
    try:
        kind = response.json()["error"]["type"]
    except (ValueError, KeyError, TypeError):
        kind = response.reason_phrase
    return f"HTTP {response.status_code} {kind}".strip()
