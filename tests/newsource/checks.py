"""The throwaway source's doctor check: its endpoint answers."""

from __future__ import annotations

from functools import partial

from bot.config import Settings, view
from bot.doctor import Check, Doctor, Spec, failed, passed, skipped
from tests.newsource.settings import NewSourceSettings


def checks(settings: Settings) -> list[Spec]:
    own = view(settings, NewSourceSettings)
    return [Spec("newsource", partial(check_endpoint, url=str(own.newsource_url or "")), "check NEWSOURCE_URL")]


async def check_endpoint(doctor: Doctor, url: str) -> Check:
    if not url:
        return skipped("not configured (no NEWSOURCE_URL)")
    answer = await doctor.get(url)
    return passed(f"{url} answers") if answer.status_code == 200 else failed(f"{url}: {answer.status_code}", "fix it")
