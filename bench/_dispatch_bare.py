"""The bare baselines: what this machine and tweepy manage against the same sandbox.

(a) aiohttp, one event loop, `concurrency` requests in flight, the same mix of
    create endpoints the engine calls, authenticated the cheapest way each
    fake accepts: the machine's limit, not an SDK's.
(b) tweepy's `Client` shared by a thread pool, as the engine's X adapter
    uses it (OAuth 1.0a, requests' default pool): the SDK's limit for X.
(c) civicpost's adapters in a thread pool with no database: a diagnostic
    that splits the engine's cost into "the SDKs under one GIL" and the rest.
"""

import asyncio
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiohttp
import tweepy

from civicpost.sandbox.testing import point_tweepy_at

BLUESKY_HANDLE = "bare.bench.city"


@dataclass
class BareResult:
    requests: int
    seconds: float
    statuses: Counter
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def aiohttp_mix(base: str, texts: list[tuple[str, str]], *, concurrency: int) -> BareResult:
    """POST each (platform, text) to that platform's create endpoint."""
    return asyncio.run(_aiohttp_mix(base, texts, concurrency))


async def _aiohttp_mix(base: str, texts: list[tuple[str, str]], concurrency: int) -> BareResult:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:
        async with http.post(f"{base}/bluesky/xrpc/com.atproto.server.createSession",
                             json={"identifier": BLUESKY_HANDLE, "password": "pw-pw-pw-pw"}) as r:
            session = await r.json()
        bluesky = {"Authorization": f"Bearer {session['accessJwt']}"}
        did = session["did"]
        statuses: Counter = Counter()
        queue = iter(texts)

        async def send(platform: str, text: str) -> int:
            if platform == "x":
                request = http.post(f"{base}/x/2/tweets", json={"text": text}, headers={"Authorization": "Bearer t"})
            elif platform == "mastodon":
                request = http.post(f"{base}/mastodon/api/v1/statuses", data={"status": text},
                                    headers={"Authorization": "Bearer tok", "Idempotency-Key": text[:64]})
            else:
                record = {"$type": "app.bsky.feed.post", "text": text,
                          "createdAt": datetime.now(UTC).isoformat().replace("+00:00", "Z")}
                request = http.post(f"{base}/bluesky/xrpc/com.atproto.repo.createRecord", headers=bluesky,
                                    json={"repo": did, "collection": "app.bsky.feed.post", "record": record})
            async with request as response:
                await response.read()
                return response.status

        async def lane() -> None:
            for platform, text in queue:
                try:
                    statuses[await send(platform, text)] += 1
                except aiohttp.ClientError as exc:
                    statuses[type(exc).__name__] += 1

        started = time.perf_counter()
        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return BareResult(len(texts), time.perf_counter() - started, statuses)


def tweepy_threads(base: str, texts: list[str], *, concurrency: int) -> BareResult:
    client = tweepy.Client(consumer_key="k", consumer_secret="s", access_token="t", access_token_secret="ts",
                           return_type=dict, wait_on_rate_limit=False)
    point_tweepy_at(client, base, timeout=30)
    statuses: Counter = Counter()
    lock = threading.Lock()

    def post(text: str) -> None:
        try:
            client.create_tweet(text=text, user_auth=True)
            outcome: int | str = 201
        except tweepy.HTTPException as exc:
            outcome = exc.response.status_code
        except Exception as exc:  # noqa: BLE001 - counted, not raised: a baseline, not a test
            outcome = type(exc).__name__
        with lock:
            statuses[outcome] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(post, texts))
    return BareResult(len(texts), time.perf_counter() - started, statuses)


def adapters_threads(base: str, texts: list[tuple[str, str]], *, concurrency: int,
                     credentials: dict[str, dict], prefixes: dict[str, str]) -> BareResult:
    """civicpost's own adapters in a thread pool, no database: what the SDKs cost under one GIL."""
    from civicpost.platforms import Outgoing, PlatformError, build_adapter

    adapters = {p: build_adapter(p, dict(credentials[p]), {"api_base": base + prefixes[p]}, timeout=30,
                                 allow_private_network=True)
                for p in {p for p, _ in texts}}
    created = datetime.now(UTC)
    statuses: Counter = Counter()
    lock = threading.Lock()

    def post(item: tuple[int, tuple[str, str]]) -> None:
        n, (platform, text) = item
        outgoing = Outgoing(key=f"00000000-0000-4000-8000-{n:012d}", text=text, title="Notice",
                            created_at=created + timedelta(microseconds=n))
        try:
            adapters[platform].publish(outgoing)
            outcome: int | str = "published"
        except PlatformError as exc:
            outcome = type(exc).__name__
        with lock:
            statuses[outcome] += 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(post, enumerate(texts)))
    return BareResult(len(texts), time.perf_counter() - started, statuses)
