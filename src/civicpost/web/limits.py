"""Refuse request bodies over the limit before reading them into memory."""

import asyncio
import json
import re

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _detail(limit: int) -> str:
    return f"the request body is over the limit of {limit:,} bytes; send less"


class BodyLimit:
    """Pure ASGI middleware: checks Content-Length, and counts a streamed body too."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_paths: dict[str, int]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Paths (regular expressions, matched whole) that take uploads, with their limits.
        self.upload_paths = [(re.compile(pattern), limit) for pattern, limit in upload_paths.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = next((n for pattern, n in self.upload_paths if pattern.fullmatch(scope["path"])), self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _refuse(send, limit, html=scope["path"].startswith("/staff/"))
                    return
        seen = 0

        # A body sent without Content-Length (chunked) is counted as it arrives;
        # FastAPI re-raises an HTTPException from body reading as it is.
        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, detail=_detail(limit))
            return message

        await self.app(scope, counting_receive, send)


async def _refuse(send: Send, limit: int, *, html: bool = False) -> None:
    if html:
        # A person at a form: a page that says what to do, with a way back.
        body = (
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Too large</title>"
            "<link rel=\"stylesheet\" href=\"/static/site.css\"></head><body><main id=\"main\">"
            f"<h1>That was too large to send</h1><p>The form and its files may be at most {limit / 1048576:.0f} MB "
            "together. Go back, choose a smaller image (or fewer at once) and send the form again.</p>"
            "<p><a href=\"/staff/\">Back to the dashboard</a></p></main></body></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    else:
        body = json.dumps(
            {"type": "about:blank", "title": "Content too large", "status": 413, "detail": _detail(limit)}
        ).encode()
        content_type = b"application/problem+json"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", content_type), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class ConcurrencyLimit:
    """At most `limit` requests inside the app at once; the rest wait here.

    Sync handlers run on a pool of 40 threads and hold a database connection
    between their trips through it. Unbounded, a burst lets more requests hold
    connections than there are threads to finish them, and everything stalls
    until the pool times out. Waiting here costs no thread and no connection;
    a request that waits too long gets a quick 503 instead of a slow 500.
    Paths under a prefix in `by_prefix` have places of their own.
    """

    def __init__(
        self, app: ASGIApp, *, limit: int, queue_timeout: float, by_prefix: dict[str, int] | None = None
    ) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(limit)
        self.slots_by_prefix = [(prefix, asyncio.Semaphore(n)) for prefix, n in (by_prefix or {}).items()]
        self.queue_timeout = queue_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        slots = next((s for prefix, s in self.slots_by_prefix if scope["path"].startswith(prefix)), self.slots)
        if slots.locked():
            try:
                await asyncio.wait_for(slots.acquire(), self.queue_timeout)
            except TimeoutError:
                await _busy(send)
                return
        else:
            # A free place: taken at once, without wait_for's task and timer (most requests).
            await slots.acquire()
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()


async def _busy(send: Send) -> None:
    body = json.dumps(
        {"type": "about:blank", "title": "Service unavailable", "status": 503,
         "detail": "the service is busy; try again in a few seconds"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [(b"content-type", b"application/problem+json"), (b"retry-after", b"5"),
                        (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
