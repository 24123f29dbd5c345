"""The status pages' `statusbot doctor` checks: each service's page answers and parses."""

from __future__ import annotations

from functools import partial

from bot.config import ServiceSpec, Settings
from bot.doctor import Check, Doctor, Spec, failed, named, passed
from bot.sources.statuspage.client import FetchError, StatuspageClient
from bot.sources.statuspage.parse import ParseError, parse_incidents, parse_summary

PAGE_DOWN = (
    "check STATUSPAGE_URL and this host's network; if both are right, the page itself is failing and "
    "statusbot catches up once it answers"
)


def checks(settings: Settings) -> list[Spec]:
    services = settings.effective_services()
    return [
        Spec(named("status page", s.name, len(services)), partial(check_status_page, service=s), PAGE_DOWN)
        for s in services
    ]


async def check_status_page(doctor: Doctor, service: ServiceSpec) -> Check:
    base = service.page_base
    client = StatuspageClient(base, doctor.settings.http_timeout)
    try:
        summary, _ = await client.fetch("/api/v2/summary.json")
        incidents, _ = await client.fetch("/api/v2/incidents.json")
    except FetchError as exc:
        return failed(str(exc), PAGE_DOWN)
    finally:
        await client.aclose()
    try:
        components = parse_summary(summary.body, service.name).components
        found = parse_incidents(incidents.body, service.name)
    except ParseError as exc:
        return failed(
            f"{base} answers, but not like a Statuspage: {exc}",
            "set STATUSPAGE_URL to the base URL of an Atlassian Statuspage (its JSON API is under /api/v2/)",
        )
    return passed(f"{base} answers and parses ({len(components)} components, {len(found)} incidents)")
