"""The public pages and feeds, kept rendered: what a storm's surge of residents reads.

Each serving process keeps the answers it rendered for `/`, `/announcements/{id}`,
`/directory`, `/feed.atom`, `/feed.json` and each topic's `/t/{slug}/feed.atom`, `feed.json`
and `calendar.ics` (what feed readers and calendars poll; 200 and 410 only), with their strong
ETag and their gzip and brotli forms, all made once. A kept answer stands while
the public site's version (civicpost.public_site, one row) is the one it was
rendered under, the moment a handler gave (`request.state.public_until`, an
alert's expiry) has not passed, and it is younger than KEEP_SECONDS (a safety
net for a change no one versioned). Every process reads the version at most
every CIVICPOST_PUBLIC_CHECK_SECONDS (0.5 s); once it has seen a change, the
answer before it may go out until STALE_SECONDS after the check that was due
next after the old version was last read (so never, in a process no one asked
for a while), while one background render makes the new one (with `no-store`,
and never as a 304, so no cache downstream keeps it). So a retraction
committed by any process leaves every process's pages within 0.7 s and a
render, inside the second SPEC §8.5 allows. A page found missing is rendered
once, however many ask at once.

A pure ASGI middleware in front of the routes: an answer it keeps is sent
without routing, dependencies, a database session or a template; a matching
`If-None-Match` gets its 304 the same way. Nothing here depends on who asks:
these pages are the same for everyone (no cookies read, none set).
"""

import asyncio
import functools
import gzip
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from hashlib import blake2b
from urllib.parse import parse_qsl

import brotli
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from civicpost import public_site

log = logging.getLogger(__name__)

CHECK_SECONDS = 0.5
KEEP_SECONDS = 60.0
# After a change, how long the answer rendered before it may still be sent while its new render is
# made in the background: a surge is not held up (nor the process's threads flooded) at every change.
STALE_SECONDS = 0.2
# What a browser or a shared cache may do with these answers. A retraction must show within
# a second: a cache keeps a copy one second, and may answer from it one more second while it
# fetches the new one (so under a surge one request a second per address reaches civicpost).
CACHE_CONTROL = b"public, max-age=1, stale-while-revalidate=1"
PATHS = re.compile(r"/|/announcements/[1-9][0-9]{0,17}|/directory|/feed\.atom|/feed\.json"
                   r"|/t/[a-z0-9][a-z0-9-]{0,62}/(?:feed\.atom|feed\.json|calendar\.ics)")
KEPT_STATUSES = (200, 410)
MAX_ENTRIES = 512
# How long a background render waits for the staff requests under way to end before it starts: a
# render is pure Python for several milliseconds, and a staff request beside it gets half the interpreter.
# Bounded, so a steady stream of them delays the public pages' refresh by this much at most.
GIVE_WAY_SECONDS = 0.025
SMALLEST_COMPRESSED = 512  # bytes: below this the headers outweigh the saving


@dataclass(frozen=True)
class Form:
    """One representation: its body, and its strong ETag (each coding its own, RFC 9110 §8.8.3)."""

    body: bytes
    etag: bytes
    coding: bytes | None


@dataclass(frozen=True)
class Kept:
    status: int
    media_type: bytes
    forms: dict[str, Form]  # "identity", "br", "gzip"
    version: str
    until: float  # time.time()
    etags: frozenset[bytes]


def _tag(body: bytes, suffix: str = "") -> bytes:
    return b'"' + blake2b(body, digest_size=16).hexdigest().encode() + suffix.encode() + b'"'


def keep(status: int, media_type: bytes, body: bytes, *, version: str, until: float) -> Kept:
    identity = Form(body, _tag(body), None)
    forms = {"identity": identity}
    if len(body) >= SMALLEST_COMPRESSED:
        forms["br"] = Form(brotli.compress(body, quality=5), identity.etag[:-1] + b'.br"', b"br")
        forms["gzip"] = Form(gzip.compress(body, compresslevel=6, mtime=0), identity.etag[:-1] + b'.gz"', b"gzip")
    return Kept(status, media_type, forms, version, until, frozenset(f.etag for f in forms.values()))


def chosen_form(kept: Kept, accept_encoding: str) -> Form:
    """Brotli, then gzip, when the client takes them (a q=0 refuses); else the body as it is."""
    taken = set()
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        if params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000"):
            taken.add(name.strip())
    for coding in ("br", "gzip"):
        if coding in kept.forms and (coding in taken or "*" in taken):
            return kept.forms[coding]
    return kept.forms["identity"]


def matches(kept: Kept, if_none_match: str) -> bool:
    """Weak comparison (RFC 9110 §13.1.2): any coding of the same body is the same page."""
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/").encode() in kept.etags for tag in if_none_match.split(","))


class PageStore:
    """The kept answers of one process, and the version they were rendered under."""

    def __init__(self, read_sessions: sessionmaker[Session], *, check_seconds: float = CHECK_SECONDS,
                 keep_seconds: float = KEEP_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._read_sessions = read_sessions
        self._check_seconds = check_seconds
        # Never longer than the check interval: a retraction leaves within twice it, at most.
        self._stale_seconds = min(STALE_SECONDS, check_seconds)
        self._keep_seconds = keep_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: OrderedDict[str, Kept] = OrderedDict()
        self.version: str | None = None
        self._previous: str | None = None
        # Until when the answers of `_previous` may still go out (see `check`).
        self._stale_until = float("-inf")
        self._checked = float("-inf")
        # Answers rendered by the routes (a miss): what the tests count to prove a hit renders nothing.
        self.renders = 0

    def due_for_check(self) -> bool:
        return self._clock() - self._checked >= self._check_seconds

    def check(self) -> None:
        """Read the version (one primary-key read); a new one makes every kept answer stale.

        Requests that find a check due at once each make one, and they may end out of order: a read
        begun before a change and ended after a newer read must not bring back the version before it."""
        began = self._clock()
        with self._read_sessions() as session:
            version = public_site.current(session)
        with self._lock:
            if began < self._checked:
                return  # a check begun later has answered already
            confirmed, self._checked = self._checked, began
            if version != self.version:
                self._previous, self.version = self.version, version
                # The change was committed after `confirmed` (the last check that read the old version).
                # The old answers go out no later than STALE_SECONDS after the check that was due next:
                # a process no one asked for a while (its last check long ago) gives none of them.
                self._stale_until = min(began, confirmed + self._check_seconds) + self._stale_seconds

    def get(self, key: str) -> tuple[Kept, bool] | None:
        """The kept answer and whether it is fresh. A stale one (of the version just replaced) is
        given for STALE_SECONDS after the change was seen, while its new render is made."""
        with self._lock:
            kept = self._entries.get(key)
            if kept is None:
                return None
            fresh = kept.version == self.version
            if time.time() >= kept.until or not (fresh or self._stale_allowed(kept)):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return kept, fresh

    def _stale_allowed(self, kept: Kept) -> bool:
        return kept.version == self._previous and self._clock() < self._stale_until

    def put(self, key: str, kept: Kept) -> None:
        with self._lock:
            if kept.version != self.version:
                return  # rendered under a version that changed meanwhile
            self._entries[key] = kept
            self._entries.move_to_end(key)
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)

    def keep_until(self, given: datetime | None) -> float:
        longest = time.time() + self._keep_seconds
        return longest if given is None else min(longest, given.timestamp())


class PublicCache:
    def __init__(self, app: ASGIApp, *, store: PageStore) -> None:
        self.app = app
        self.store = store
        # Renders under way, by key: a surge that finds a page dropped waits for one render, not one each.
        self._rendering: dict[str, asyncio.Future[Kept | None]] = {}
        self._refreshing: set[asyncio.Task[None]] = set()
        # Background renders one at a time: after a change each kept page is rendered again, and five
        # renders at once (pure Python, on five threads) left a staff request a sixth of the interpreter
        # while they lasted. In turn, the same work ends as soon, and the old answers cover the wait.
        self._refresh_turn = asyncio.Lock()
        # Requests under way that these pages do not answer (staff pages and the API, mostly):
        # background renders give way to them (GIVE_WAY_SECONDS).
        self._others = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["method"] not in ("GET", "HEAD") or not PATHS.fullmatch(scope["path"]):
            self._others += 1
            try:
                await self.app(scope, receive, send)
            finally:
                self._others -= 1
            return
        store = self.store
        if store.due_for_check():
            await run_in_threadpool(store.check)
        key = _key(scope)
        headers = _headers(scope)
        found = store.get(key)
        if found is not None:
            if not found[1] and key not in self._rendering:
                self._refresh(scope, key)
            await _answer(found[0], headers, scope["method"] == "HEAD", send, fresh=found[1])
            return
        if (under_way := self._rendering.get(key)) is not None and (waited := await asyncio.shield(under_way)):
            await _answer(waited, headers, scope["method"] == "HEAD", send)
            return
        if scope["method"] == "HEAD":
            await self.app(scope, receive, send)
            return
        done: asyncio.Future[Kept | None] = asyncio.get_running_loop().create_future()
        self._rendering[key] = done
        try:
            kept, start, body = await self._render(scope, receive, key)
            done.set_result(kept)
        finally:
            if not done.done():
                done.set_result(None)  # it failed: the waiters render for themselves
            del self._rendering[key]
        if kept is None:
            await send(start)
            await send({"type": "http.response.body", "body": body})
            return
        await _answer(kept, headers, False, send)

    def _refresh(self, scope: Scope, key: str) -> None:
        """Render `key` again in the background (the stale answer goes out meanwhile)."""
        done: asyncio.Future[Kept | None] = asyncio.get_running_loop().create_future()
        self._rendering[key] = done
        # Its own copy: the request that found the page stale is answered already.
        scope = {**scope, "method": "GET", "state": dict(scope.get("state") or {})}

        async def no_body() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def render() -> None:
            try:
                async with self._refresh_turn:
                    await self._give_way()
                    kept, _, _ = await self._render(scope, no_body, key)
                done.set_result(kept)
            except Exception:
                log.exception("rendering %s again failed; the next request renders it", key)
            finally:
                if not done.done():
                    done.set_result(None)
                del self._rendering[key]

        task = asyncio.create_task(render())
        self._refreshing.add(task)  # held, so the loop does not drop it half-way
        task.add_done_callback(self._refreshing.discard)

    async def _give_way(self) -> None:
        """Wait until no other request is under way, GIVE_WAY_SECONDS at most (the stale answer
        still goes out meanwhile, for STALE_SECONDS after the change was seen)."""
        deadline = time.monotonic() + GIVE_WAY_SECONDS
        while self._others and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    async def _render(self, scope: Scope, receive: Receive, key: str) -> tuple[Kept | None, Message, bytes]:
        store = self.store
        version = store.version or ""
        captured: dict = {"body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["start"] = message
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))

        store.renders += 1
        await self.app(scope, receive, capture)
        start = captured["start"]
        body = b"".join(captured["body"])
        if start["status"] not in KEPT_STATUSES:
            return None, start, body
        media_type = next((v for k, v in start.get("headers", ()) if k.lower() == b"content-type"), b"")
        until = store.keep_until(scope.get("state", {}).get("public_until"))
        # Compressing a feed takes milliseconds; zlib and brotli let go of the interpreter meanwhile, so on
        # a thread the event loop goes on answering.
        made = functools.partial(keep, start["status"], media_type, body, version=version, until=until)
        kept = await run_in_threadpool(made) if len(body) >= SMALLEST_COMPRESSED else made()
        store.put(key, kept)
        return kept, start, body


def _key(scope: Scope) -> str:
    """The path, and for an announcement the language asked for: nothing else in a query changes
    these pages, so made-up queries cannot fill the store or make a page be rendered again."""
    path: str = scope["path"]
    if path.startswith("/announcements/") and b"lang=" in scope["query_string"]:
        chosen = [v for k, v in parse_qsl(scope["query_string"].decode("latin-1")) if k == "lang"]
        if chosen:
            return f"{path}?lang={chosen[-1]}"  # the last, as the route reads it
    return path


def _headers(scope: Scope) -> dict[bytes, str]:
    wanted = (b"if-none-match", b"accept-encoding")
    return {k: v.decode("latin-1") for k, v in scope["headers"] if k in wanted}


async def _answer(kept: Kept, headers: dict[bytes, str], head: bool, send: Send, *, fresh: bool = True) -> None:
    form = chosen_form(kept, headers.get(b"accept-encoding", ""))
    # A stale answer (being rendered again) is neither stored by a cache nor confirmed to one with a
    # 304: either would let a proxy keep the old page another max-age after the change.
    out = [(b"etag", form.etag), (b"cache-control", CACHE_CONTROL if fresh else b"no-store"),
           (b"vary", b"accept-encoding")]
    # Only a page that is there can be "not modified"; a 410 is sent whole (RFC 9110 §13.2.2).
    if (fresh and kept.status == 200 and (given := headers.get(b"if-none-match")) is not None
            and matches(kept, given)):
        await send({"type": "http.response.start", "status": 304, "headers": out})
        await send({"type": "http.response.body", "body": b""})
        return
    out += [(b"content-type", kept.media_type), (b"content-length", str(len(form.body)).encode())]
    if form.coding is not None:
        out.append((b"content-encoding", form.coding))
    await send({"type": "http.response.start", "status": kept.status, "headers": out})
    await send({"type": "http.response.body", "body": b"" if head else form.body})
