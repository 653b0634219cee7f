"""Open-loop HTTP load: requests leave on a fixed schedule, whatever the answers.

A closed loop (send, wait, send) slows down when the server does and so hides
its worst moments ("coordinated omission"). Here request i is due at
start + i/rate; it is sent then even if earlier ones are still waiting, and its
latency counts from that due time, so any lag in the client counts against
the result rather than for it.
"""

import asyncio
import gc
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

try:  # a faster loop keeps the client's own lag out of the figures
    import uvloop
except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
    uvloop = None


@dataclass(frozen=True)
class Call:
    kind: str
    method: str
    path: str
    token: str | None = None
    body: dict[str, Any] | None = None
    # Given the parsed JSON of a 2xx answer; how a reader follows a cursor.
    on_answer: Callable[[dict[str, Any]], None] | None = None


@dataclass(frozen=True)
class Result:
    kind: str
    latency_ms: float
    ok: bool
    error: str | None = None


@dataclass
class Run:
    results: list[Result]
    seconds: float  # from the first due time to the last answer
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Summary:
    kind: str
    count: int
    errors: int
    p50: float
    p90: float
    p99: float
    max: float
    rate: float  # 2xx answers per second: what the server really achieved


def run_open_loop(
    base_url: str, plan: Callable[[int], Call], *, rate: float, seconds: float, timeout: float = 10
) -> Run:
    coroutine = _open_loop(base_url, plan, rate=rate, seconds=seconds, timeout=timeout)
    # The client's own collector paused it for 50-80 ms at a time (the seeded
    # rows are ~190,000 objects; seen with gc.callbacks), and every request
    # due in a pause counted it as server latency. Freeze what exists and keep
    # the collector off while the clock runs; a run's garbage is small.
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


async def _open_loop(
    base_url: str, plan: Callable[[int], Call], *, rate: float, seconds: float, timeout: float
) -> Run:
    # perf_counter, not loop.time(): uvloop's clock ticks in whole milliseconds.
    clock = time.perf_counter
    total = int(rate * seconds)
    # No connection limit: a cap here would queue requests in the client.
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(
        base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=timeout)
    ) as http:
        start = clock() + 0.05
        tasks = []
        for i in range(total):
            due = start + i / rate
            delay = due - clock()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_send(http, plan(i), due)))
        results = await asyncio.gather(*tasks)
        ended = clock()
    errors = [r.error for r in results if r.error]
    return Run(results=list(results), seconds=ended - start, errors=errors)


def run_sequential(base_url: str, plan: Callable[[int], Call], *, count: int, timeout: float = 10) -> Run:
    """One request at a time (a closed loop, on purpose): the service time of
    each request with nothing queued, and a warm-up that cannot overload."""
    coroutine = _sequential(base_url, plan, count=count, timeout=timeout)
    if uvloop is None:
        return asyncio.run(coroutine)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(coroutine)


async def _sequential(base_url: str, plan: Callable[[int], Call], *, count: int, timeout: float) -> Run:
    async with aiohttp.ClientSession(base_url, timeout=aiohttp.ClientTimeout(total=timeout)) as http:
        start = time.perf_counter()
        results = [await _send(http, plan(i), time.perf_counter()) for i in range(count)]
        seconds = time.perf_counter() - start
    return Run(results=results, seconds=seconds, errors=[r.error for r in results if r.error])


async def _send(http: aiohttp.ClientSession, call: Call, due: float) -> Result:
    headers = {"Authorization": f"Bearer {call.token}"} if call.token else {}
    try:
        async with http.request(call.method, call.path, json=call.body, headers=headers) as response:
            data = await response.read()
            ok = 200 <= response.status < 300
            if ok and call.on_answer is not None:
                call.on_answer(json.loads(data))
            error = None if ok else f"{call.kind}: HTTP {response.status} {data[:200]!r}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        ok, error = False, f"{call.kind}: {exc!r}"
    return Result(call.kind, (time.perf_counter() - due) * 1000, ok, error)


def summarise(run: Run, kinds: list[str]) -> list[Summary]:
    """One row per kind that occurred, then "all"."""
    rows = []
    for kind in [*kinds, "all"]:
        chosen = [r for r in run.results if kind == "all" or r.kind == kind or r.kind.startswith(kind + " ")]
        if not chosen:
            continue
        latencies = sorted(r.latency_ms for r in chosen)
        rows.append(
            Summary(
                kind=kind,
                count=len(chosen),
                errors=sum(not r.ok for r in chosen),
                p50=_percentile(latencies, 50),
                p90=_percentile(latencies, 90),
                p99=_percentile(latencies, 99),
                max=latencies[-1],
                rate=sum(r.ok for r in chosen) / run.seconds,
            )
        )
    return rows


def _percentile(ordered: list[float], p: float) -> float:
    """Nearest rank: a value that was really measured, never an interpolation."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def format_table(title: str, rows: list[Summary]) -> str:
    lines = [
        title,
        f"  {'kind':<16}{'n':>6}{'errors':>8}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'max ms':>9}{'ok/s':>9}",
    ]
    for r in rows:
        lines.append(
            f"  {r.kind:<16}{r.count:>6}{r.errors:>8}{r.p50:>9.1f}{r.p90:>9.1f}{r.p99:>9.1f}{r.max:>9.1f}{r.rate:>9.1f}"
        )
    return "\n".join(lines)
