"""A loopback stand-in for the Anthropic Messages API in `statusbot demo`: it answers 529
overloaded_error while the scripted outage lasts, and a real-shaped message otherwise."""

from __future__ import annotations

import secrets
from collections.abc import Callable

from aiohttp import web

from bot.demo.page_server import PageServer


class DemoApi(PageServer):
    def __init__(self, failing: Callable[[], bool]) -> None:
        super().__init__(dict)
        self.failing = failing

    async def respond(self, request: web.Request) -> web.StreamResponse:
        request_id = f"req_demo{secrets.token_hex(8)}"
        if request.path != "/v1/messages" or request.method != "POST":
            return web.json_response(
                {
                    "type": "error",
                    "error": {"type": "not_found_error", "message": "Not found"},
                    "request_id": request_id,
                },
                status=404,
                headers={"request-id": request_id},
            )
        if self.failing():
            return web.json_response(
                {
                    "type": "error",
                    "error": {"type": "overloaded_error", "message": "Overloaded"},
                    "request_id": request_id,
                },
                status=529,
                headers={"request-id": request_id},
            )
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
