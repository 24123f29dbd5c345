"""Event hooks for the Anthropic SDK's HTTP client: httpx2 in SDK 2.x, httpx in 1.x, which share this API.

The request hook picks the model out of the body and puts a `trace` callback (httpcore's documented
request extension) on the request, which hears a timeout or a broken connection; the response hook wraps
the response body's byte stream so the attempt ends when the body does. Both return at once, raise
nothing, and leave the request and the response as the caller would have had them. The SDK sends each
of its retries as a new request, so every attempt is seen.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from bot.report.observe import Attempt, model_of
from bot.report.tally import Tally

Hook = Callable[[Any], Any]


class _Trace:
    def __init__(self, attempt: Attempt, previous: Callable[..., Any] | None) -> None:
        self.attempt, self.previous = attempt, previous


class SyncTrace(_Trace):
    def __call__(self, name: str, info: dict[str, Any]) -> None:
        if self.previous is not None:
            self.previous(name, info)
        self.attempt.traced(name, info)


class AsyncTrace(_Trace):
    async def __call__(self, name: str, info: dict[str, Any]) -> None:
        if self.previous is not None:
            await self.previous(name, info)
        self.attempt.traced(name, info)


def _begin(tally: Tally, request: Any, trace: type[_Trace]) -> None:
    try:
        model = model_of(request.method, request.headers.get("content-type", ""), request.content)
        extensions = request.extensions
        if model is None or isinstance(extensions.get("trace"), _Trace):
            return
        extensions["trace"] = trace(Attempt(tally, model), extensions.get("trace"))
    except Exception:  # a body that is streamed (not read), or anything else: this call is not watched
        return


def _answered(response: Any, asynchronous: bool) -> None:
    try:
        trace = response.request.extensions.get("trace")
        if not isinstance(trace, _Trace):
            return
        trace.attempt.answered(response.status_code, response.headers.get("content-type", ""))
        response.stream = _watched(type(response).__module__, asynchronous)(response.stream, trace.attempt)
    except Exception:
        return


class _SyncWatch:
    def __init__(self, inner: Any, attempt: Attempt) -> None:
        self._inner, self._attempt = inner, attempt

    @property
    def elapsed(self) -> Any:  # httpx2's Response.elapsed reads it from the stream
        return getattr(self._inner, "elapsed", None)

    def __iter__(self) -> Iterator[bytes]:
        try:
            for chunk in self._inner:
                self._attempt.chunk(chunk)
                yield chunk
        except BaseException as exc:
            self._attempt.broke(exc)
            raise

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._attempt.finish()

    def __del__(self) -> None:  # a response dropped unread still counts
        self._attempt.finish()


class _AsyncWatch(_SyncWatch):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                self._attempt.chunk(chunk)
                yield chunk
        except BaseException as exc:
            self._attempt.broke(exc)
            raise

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            self._attempt.finish()


_WATCHES: dict[tuple[str, bool], type] = {}


def _watched(module: str, asynchronous: bool) -> type:
    """The watching stream class for this HTTP library (httpx or httpx2), built on its own byte stream
    base class so its Response accepts it."""
    library = module.split(".")[0]
    key = (library, asynchronous)
    if key not in _WATCHES:
        lib = importlib.import_module(library)
        base = lib.AsyncByteStream if asynchronous else lib.SyncByteStream
        _WATCHES[key] = type(f"Watched{base.__name__}", (_AsyncWatch if asynchronous else _SyncWatch, base), {})
    return _WATCHES[key]


def sync_hooks(tally: Tally) -> dict[str, list[Hook]]:
    def on_request(request: Any) -> None:
        _begin(tally, request, SyncTrace)

    def on_response(response: Any) -> None:
        _answered(response, False)

    return {"request": [on_request], "response": [on_response]}


def async_hooks(tally: Tally) -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    async def on_request(request: Any) -> None:
        _begin(tally, request, AsyncTrace)

    async def on_response(response: Any) -> None:
        _answered(response, True)

    return {"request": [on_request], "response": [on_response]}
