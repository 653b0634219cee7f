"""What a surge asks for, and the open-loop client that asks it.

The public mix (per 100 requests): 60 the current emergency's page, 20 the home
page, 10 the feeds (Atom and JSON Feed, half of them with the ETag the reader
saw last in If-None-Match, as feed readers poll), 10 the directory. Staff
requests (_api_mix: list pages and creates, with tokens) join at their own
rate. Requests leave on a fixed schedule (see _api_load: latency counts from
the due time); a 304 is a good answer here.
"""

import asyncio
import gc
import json
import random
import time
from dataclasses import dataclass

import aiohttp
from _api_load import Call, Result, Run
from _api_mix import Mix

try:
    import uvloop
except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
    uvloop = None

PUBLIC_KINDS = ["emergency page", "home", "feed", "feed 304", "directory"]
STAFF_KINDS = ["list first", "list filtered", "list cursor", "create"]
# As a browser or a feed reader asks (civicpost sends brotli to the first, gzip to the second).
BROWSER = "gzip, deflate, br"
READER = "gzip"


@dataclass(frozen=True)
class Ask:
    call: Call
    headers: dict[str, str]
    etag_of: str | None = None  # remember the answer's ETag under this name


class Surge:
    """Request i of the run: public at `public_rate`, staff at `staff_rate` (by chance, in proportion)."""

    def __init__(self, *, emergency_id: int, staff: Mix | None, public_rate: float, staff_rate: float,
                 rng: random.Random) -> None:
        self.emergency = f"/announcements/{emergency_id}"
        self.staff = staff
        total = public_rate + staff_rate
        self.staff_share = staff_rate / total if staff is not None and total else 0.0
        self.rng = rng
        self.etags: dict[str, str] = {}

    def __call__(self, i: int) -> Ask:
        if self.staff is not None and self.rng.random() < self.staff_share:
            return Ask(self.staff(i), {})
        roll = self.rng.random()
        if roll < 0.60:
            return Ask(Call("emergency page", "GET", self.emergency), {"Accept-Encoding": BROWSER})
        if roll < 0.80:
            return Ask(Call("home", "GET", "/"), {"Accept-Encoding": BROWSER})
        if roll < 0.90:
            path = "/feed.atom" if roll < 0.85 else "/feed.json"
            known = self.etags.get(path)
            if known is not None and self.rng.random() < 0.5:
                return Ask(Call("feed 304", "GET", path), {"Accept-Encoding": READER, "If-None-Match": known}, path)
            return Ask(Call("feed", "GET", path), {"Accept-Encoding": READER}, path)
        return Ask(Call("directory", "GET", "/directory"), {"Accept-Encoding": BROWSER})


def run(base_url: str, plan, *, rate: float, seconds: float, timeout: float = 10) -> Run:
    coroutine = _open_loop(base_url, plan, rate=rate, seconds=seconds, timeout=timeout)
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        if uvloop is None:
            return asyncio.run(coroutine)
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(coroutine)
    finally:
        gc.enable()
        gc.unfreeze()


async def _open_loop(base_url: str, plan, *, rate: float, seconds: float, timeout: float) -> Run:
    clock = time.perf_counter
    total = int(rate * seconds)
    # Bodies are read as sent (compressed): decompressing them would spend the cores the server needs.
    async with aiohttp.ClientSession(base_url, connector=aiohttp.TCPConnector(limit=0), auto_decompress=False,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        start = clock() + 0.05
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(http, plan, plan(i), due)))
        results = await asyncio.gather(*tasks)
        ended = clock()
    return Run(results=list(results), seconds=ended - start, errors=[r.error for r in results if r.error])


async def _send(http: aiohttp.ClientSession, plan, ask: Ask, due: float) -> Result:
    call = ask.call
    headers = dict(ask.headers)
    if call.token:
        headers["Authorization"] = f"Bearer {call.token}"
    try:
        async with http.request(call.method, call.path, json=call.body, headers=headers) as response:
            data = await response.read()
            ok = 200 <= response.status < 300 or (response.status == 304 and call.kind == "feed 304")
            if ok and call.on_answer is not None:
                call.on_answer(json.loads(data))
            if ask.etag_of and (etag := response.headers.get("ETag")):
                plan.etags[ask.etag_of] = etag
            error = None if ok else f"{call.kind}: HTTP {response.status} {data[:200]!r}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        ok, error = False, f"{call.kind}: {exc!r}"
    return Result(call.kind, (time.perf_counter() - due) * 1000, ok, error)


async def fetch_as_sent(base_url: str, paths: list[str]) -> dict[str, dict]:
    """Each page as a browser gets it (coding and all): what the bare baseline serves."""
    import base64

    pages = {}
    async with aiohttp.ClientSession(base_url, auto_decompress=False) as http:
        for path in paths:
            coding = READER if path.startswith("/feed") else BROWSER
            async with http.get(path, headers={"Accept-Encoding": coding}) as response:
                body = await response.read()
                kept = [(k, v) for k, v in response.headers.items()
                        if k.lower() in ("content-type", "content-encoding", "cache-control", "vary")]
                pages[path] = {"status": response.status, "headers": kept, "etag": response.headers.get("ETag", ""),
                               "body": base64.b64encode(body).decode()}
    return pages
