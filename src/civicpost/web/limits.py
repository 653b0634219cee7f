"""Refuse request bodies over the limit before reading them into memory."""

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _detail(limit: int) -> str:
    return f"the request body is over the limit of {limit:,} bytes; send less"


class BodyLimit:
    """Pure ASGI middleware: checks Content-Length, and counts a streamed body too."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, upload_paths: dict[str, int]) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.upload_paths.get(scope["path"], self.max_bytes)
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > limit:
                    await _refuse(send, limit)
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


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Content too large",
            "status": 413,
            "detail": _detail(limit),
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
