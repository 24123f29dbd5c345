"""A loopback stand-in for the Anthropic Messages API in `statusbot demo`: it answers 529
overloaded_error while the scripted outage lasts, and a real-shaped message otherwise."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from aiohttp import web

from bot.demo.page_server import PageServer


def error(status: int, kind: str, message: str, request_id: str) -> web.Response:
    """An error as the Messages API shapes it."""
    body = {"type": "error", "error": {"type": kind, "message": message}, "request_id": request_id}
    return web.json_response(body, status=status, headers={"request-id": request_id})


class DemoApi(PageServer):
    def __init__(self, failing: Callable[[], bool]) -> None:
        super().__init__(dict)
        self.failing = failing

    async def respond(self, request: web.Request) -> web.StreamResponse:
        request_id = f"req_demo{secrets.token_hex(8)}"
        if request.path != "/v1/messages" or request.method != "POST":
            return error(404, "not_found_error", "Not found", request_id)
        if self.failing():
            return error(529, "overloaded_error", "Overloaded", request_id)
        body = await request.json()
        return web.json_response(
            {
                "id": f"msg_demo{secrets.token_hex(6)}",
                "type": "message",
                "role": "assistant",
                "model": body.get("model"),
                "content": [{"type": "text", "text": "p"}],
                "stop_reason": "max_tokens",
                "usage": {"input_tokens": 8, "output_tokens": 1},
            },
            headers={"request-id": request_id},
        )
