"""What every fake platform shares: reading a request, recording it, faults.

A platform module subclasses `PlatformFake`, says how its errors look
(`error_response`, `rate_limited`, ...) and registers plain synchronous
handlers with `self.route(...)`. The wrapper here does the rest in one
place, in the order a real API gateway would: record, wait out the injected
latency, authenticate, draw a fault, run the handler, and for "accept then
hang" hold the already-committed response until the client gives up.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import parse_qs

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .faults import Action, FaultBook, Kind, PlatformFaults
from .recorder import Recorder


@dataclass(frozen=True)
class Upload:
    filename: str | None
    content_type: str | None
    size: int
    sha256: str

    def as_json(self) -> dict[str, Any]:
        return {"filename": self.filename, "content_type": self.content_type, "bytes": self.size}


@dataclass
class Call:
    """One parsed request, whatever its encoding (JSON, form, multipart, raw)."""

    request: Request
    json: Any = None
    form: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, Upload] = field(default_factory=dict)
    raw: bytes = b""

    @property
    def path_params(self) -> dict[str, str]:
        return self.request.path_params

    @property
    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def field(self, name: str) -> Any:
        if isinstance(self.json, dict) and name in self.json:
            return self.json[name]
        values = self.form.get(name)
        return values[-1] if values else None

    def fields(self, name: str) -> list[str]:
        if isinstance(self.json, dict) and isinstance(self.json.get(name), list):
            return [str(v) for v in self.json[name]]
        return self.form.get(name, [])

    def recorded_body(self) -> Any:
        if self.json is not None:
            return self.json
        if self.form or self.files:
            body: dict[str, Any] = {k: v[0] if len(v) == 1 else v for k, v in self.form.items()}
            body.update({k: f.as_json() for k, f in self.files.items()})
            return body
        if self.raw:
            return {"bytes": len(self.raw), "content_type": self.header("content-type")}
        return None


async def read_call(request: Request) -> Call:
    raw = await request.body()
    call = Call(request=request, raw=raw)
    content_type = request.headers.get("content-type", "").lower()
    if not raw:
        return call
    if "json" in content_type:
        try:
            call.json = json.loads(raw)
        except ValueError:
            call.json = None  # handlers answer 400 in their platform's words
    elif "application/x-www-form-urlencoded" in content_type:
        call.form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    elif "multipart/form-data" in content_type:
        async with request.form(max_part_size=8 * 1024 * 1024) as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data = await value.read()
                    call.files[name] = Upload(
                        value.filename, value.content_type, len(data), hashlib.sha256(data).hexdigest()
                    )
                else:
                    call.form.setdefault(name, []).append(value)
    return call


@dataclass
class Hub:
    """State shared by all platforms of one sandbox app."""

    recorder: Recorder
    faults: FaultBook
    secret: bytes


@dataclass(frozen=True)
class TimelinePost:
    platform: str
    id: str
    text: str
    created_at: datetime
    alts: tuple[str, ...] = ()
    reply_to: str | None = None
    link: str | None = None


Handler = Callable[[Call], Response]


class _QuotaWindow:
    def __init__(self) -> None:
        self.started = 0.0
        self.count = 0

    def tick(self, window_s: int) -> tuple[int, int]:
        """Count one request; return (requests in window, window reset epoch)."""
        moment = time.time()
        if moment - self.started >= window_s:
            self.started, self.count = moment, 0
        self.count += 1
        return self.count, int(self.started + window_s)


class PlatformFake:
    """One fake platform. A module of civicpost.sandbox that defines a subclass
    is found by the sandbox app: adding a platform's fake changes nothing else."""

    name: ClassVar[str]  # its API's path prefix: /{name}
    title: ClassVar[str]
    plays: ClassVar[tuple[str, ...]]  # the civicpost platforms whose channels it serves
    default_quota: ClassVar[tuple[int, int]]  # (requests, window seconds)

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._window = _QuotaWindow()

    # --- what each platform says -------------------------------------------------
    def routes(self) -> list[Route]:
        raise NotImplementedError

    def authenticate(self, call: Call) -> Response | None:
        """None when the credentials pass; otherwise the platform's refusal."""
        raise NotImplementedError

    def error_response(self, status: int) -> Response:
        raise NotImplementedError

    def rate_limited(self, reset_at: int, faults: PlatformFaults) -> Response:
        raise NotImplementedError

    def timed_out(self) -> Response:
        return self.error_response(504)

    def quota_headers(self, limit: int, remaining: int, reset_at: int) -> dict[str, str]:
        return {}

    def timeline(self) -> list[TimelinePost]:
        raise NotImplementedError

    def recorded_path(self, path: str) -> str:
        """The path as the request log keeps it: a platform whose paths hold a secret hides it here."""
        return path

    def post_pages(self) -> list[tuple[str, Callable[[Request], str]]]:
        """(path, the post id it names) for each address where the platform's
        website shows one post; the sandbox serves its own page there."""
        return []

    def reset(self) -> None:
        raise NotImplementedError

    # --- shared machinery ----------------------------------------------------------
    def route(
        self, path: str, handler: Handler, *, methods: list[str], kind: Kind, auth: bool = True
    ) -> Route:
        async def endpoint(request: Request) -> Response:
            return await self._serve(request, handler, kind=kind, auth=auth)

        return Route(path, endpoint, methods=methods, name=f"{self.name}:{handler.__name__}")

    async def _serve(self, request: Request, handler: Handler, *, kind: Kind, auth: bool) -> Response:
        call = await read_call(request)
        entry = self.hub.recorder.add(
            platform=self.name,
            method=request.method,
            path=self.recorded_path(request.url.path),
            query=dict(request.query_params),
            headers=request.headers.items(),
            body=call.recorded_body(),
        )
        faults = self.hub.faults.of(self.name)
        if faults.latency_ms:
            await asyncio.sleep(faults.latency_ms / 1000)
        response = self.authenticate(call) if auth else None
        if response is None:
            fault = self.hub.faults.draw(self.name, kind)
            if fault.action is Action.ERROR:
                response = self.error_response(fault.status)
            elif fault.action is Action.RATE_LIMIT:
                response = self.rate_limited(int(time.time()) + fault.reset_after_s, faults)
            else:
                response = handler(call)
            if fault.action is not Action.NONE:
                entry["fault"] = fault.action.value
            if fault.action is Action.HANG and response.status_code < 300:
                # The post is already stored: this is the "did it go out?" case.
                entry["status"] = "hanging"
                await _hold_until_disconnect(request, fault.hang_s)
                response = self.timed_out()
        self._add_quota_headers(response, faults)
        entry["status"] = response.status_code
        return response

    def _add_quota_headers(self, response: Response, faults: PlatformFaults) -> None:
        limit = faults.quota if faults.quota is not None else self.default_quota[0]
        window = faults.quota_window_s if faults.quota_window_s is not None else self.default_quota[1]
        count, reset_at = self._window.tick(window)
        for key, value in self.quota_headers(limit, max(0, limit - count), reset_at).items():
            if key not in response.headers:
                response.headers[key] = value


async def _hold_until_disconnect(request: Request, seconds: float) -> None:
    # The body is fully read, so the next ASGI message is the disconnect.
    try:
        async with asyncio.timeout(seconds):
            while (await request.receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, headers=headers, media_type="application/json")
