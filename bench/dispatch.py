"""Publishing engine dispatch against the sandbox with platform latency, beside bare clients.

    python bench/dispatch.py                 # the full run (about 7 minutes on 2 cores)
    python bench/dispatch.py --quick         # a smaller one (about 2 minutes)

The sandbox runs in its own process with 50 ms added to every platform answer;
real `civicpost worker` processes drain queues put straight into a scratch
PostgreSQL database (and once into SQLite). Measured, each beside a bare client
at the same concurrency: throughput for announcements x {X, Mastodon, Bluesky}
all due at once (vs aiohttp), X alone (vs tweepy's Client in a thread pool),
lag from due time to the sandbox receiving the post at a steady rate, a burst
due in the same second (drain time vs aiohttp), and the worker's memory.
Bare and engine runs alternate so a busy neighbour on the machine hurts both.
Prints figures and ratios, not pass or fail. Modules beside it named
_dispatch_* are its helpers.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _dispatch_emergency as emergency
import _dispatch_seed as queue
from _dispatch_bare import BareResult, adapters_threads, aiohttp_mix, tweepy_threads
from _dispatch_stack import (
    backend_cpu,
    backend_cpu_spent,
    cpu_seconds,
    http_json,
    sandbox_process,
    scratch_postgres,
    workers,
)
from sqlalchemy import Engine

from civicpost.db import make_engine

LATENCY_MS = 50
LAG_SHARE = 0.6  # of the measured throughput, for the second steady-rate run
AIM = {"p50_ms": 100, "p99_ms": 500, "burst": 1.5, "idle_mb": 120}
TERMINAL = ("published", "failed", "unknown", "cancelled")
CREATE_PATHS = ("/x/2/tweets", "/api/v1/statuses", "com.atproto.repo.createRecord")
TAG = re.compile(r"\[([a-z0-9]+-\d+)\]")


@dataclass
class EngineResult:
    label: str
    deliveries: int
    statuses: Counter
    seconds: float  # commit of the queue -> last delivery published
    idle_rss_mb: list[float]
    after_rss_mb: list[float]
    cpu: dict[str, float]
    lag_ms: dict[str, float] = field(default_factory=dict)

    @property
    def published(self) -> int:
        return self.statuses.get("published", 0)

    @property
    def rate(self) -> float:
        return self.published / self.seconds if self.seconds else 0.0


@dataclass
class Database:
    label: str
    url: str
    engine: Engine
    city: queue.City
    worker_count: int


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small counts and a short lag run")
    parser.add_argument("--announcements", type=int, help="announcements for the throughput run (x3 deliveries)")
    parser.add_argument("--x-deliveries", type=int, help="deliveries for X alone vs tweepy")
    parser.add_argument("--burst", type=int, help="deliveries due in the same second")
    parser.add_argument("--lag-rate", type=float, default=300, help="new due deliveries per second")
    parser.add_argument("--lag-seconds", type=float, help="length of the steady-rate run")
    parser.add_argument("--concurrency", type=int, default=32, help="sends in flight, engine and bare clients alike")
    parser.add_argument("--workers", type=int, default=1, help="`civicpost worker` processes on PostgreSQL")
    parser.add_argument("--sqlite-announcements", type=int, help="announcements for the SQLite throughput run (0: skip)")
    parser.add_argument("--repeat", type=int, default=1, help="alternate bare/engine pairs this many times")
    parser.add_argument("--only", default="mix,x,lag,burst,sqlite", help="comma-separated scenarios (and emergency)")
    parser.add_argument("--emergencies", type=int, default=20, help="emergencies published now in that scenario")
    parser.add_argument("--emergency-gap", type=float, default=2.5, help="seconds between them")
    parser.add_argument("--pg-admin-url", default=os.environ.get(
        "BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    quick = args.quick
    # The defaults are the sizes (10,000 announcements x 3; 30,000 due
    # in one second): at 400-500 deliveries/s each takes about a minute.
    args.announcements = args.announcements or (200 if quick else 10_000)
    args.x_deliveries = args.x_deliveries or (400 if quick else 5_000)
    args.burst = args.burst or (1_200 if quick else 30_000)
    args.lag_seconds = args.lag_seconds or (6 if quick else 20)
    if args.sqlite_announcements is None:
        args.sqlite_announcements = 150 if quick else 500
    only = set(args.only.split(","))

    print(_machine())
    print(f"sandbox latency {LATENCY_MS} ms per platform request; concurrency {args.concurrency} "
          f"(engine: sends in flight, shared by its worker processes; bare clients: requests in flight); {args.workers} worker process(es) on PostgreSQL\n")
    workdir = Path(tempfile.mkdtemp(prefix="civicpost-dispatch-"))
    results: dict[str, EngineResult | BareResult] = {}
    try:
        with sandbox_process(latency_ms=LATENCY_MS, workdir=workdir) as (sandbox, sandbox_pid), \
                scratch_postgres(args.pg_admin_url) as pg_url:
            run = Runner(sandbox, sandbox_pid, workdir, args.concurrency)
            pg = run.database("postgres", pg_url, args.workers)
            try:
                if "mix" in only:
                    n = args.announcements * 3
                    run.pairs(results, args.repeat, "mix", {
                        "bare": lambda: run.bare_mix(n),
                        "adapters": lambda: run.bare_adapters(n),
                        "engine": lambda: run.engine(pg, f"mix {args.announcements:,} x 3", n, queue.PLATFORMS)})
                if "x" in only:
                    n = args.x_deliveries
                    run.pairs(results, args.repeat, "x", {
                        "bare": lambda: run.bare_tweepy(n),
                        "engine": lambda: run.engine(pg, f"X alone {n:,}", n, ("x",))})
                if "lag" in only:
                    results["lag"] = run.lag(pg, rate=args.lag_rate, seconds=args.lag_seconds)
                    capacity = _median(results, "mix:engine", "rate")
                    if capacity:
                        # The same measure below the engine's capacity, where a queue cannot build up.
                        results["lag:below"] = run.lag(pg, rate=round(capacity * LAG_SHARE), seconds=args.lag_seconds)
                if "burst" in only:
                    n = args.burst
                    run.pairs(results, args.repeat, "burst", {
                        "bare": lambda: run.bare_mix(n),
                        "engine": lambda: run.engine(pg, f"burst {n:,}", n, queue.PLATFORMS)})
                if "emergency" in only:
                    results["emergency"] = emergency.run(run, pg, count=args.emergencies, backlog=args.burst,
                                                         gap=args.emergency_gap)
            finally:
                pg.engine.dispose()
            if "sqlite" in only and args.sqlite_announcements:
                lite = run.database("sqlite", f"sqlite:///{workdir / 'dispatch.db'}", 1)
                try:
                    n = args.sqlite_announcements * 3
                    results["sqlite:engine"] = run.engine(lite, f"SQLite mix {args.sqlite_announcements:,} x 3", n,
                                                          queue.PLATFORMS)
                    results["sqlite:bare"] = run.bare_mix(n)
                finally:
                    lite.engine.dispose()
        _summary(results, args)
        print(f"\nload average at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


class Runner:
    def __init__(self, sandbox: str, sandbox_pid: int, workdir: Path, concurrency: int) -> None:
        self.sandbox, self.sandbox_pid, self.workdir, self.concurrency = sandbox, sandbox_pid, workdir, concurrency
        self.runs = 0

    def database(self, label: str, url: str, worker_count: int) -> Database:
        engine = make_engine(url)
        return Database(label, url, engine, queue.prepare(engine, sandbox_url=self.sandbox), worker_count)

    def pairs(self, results: dict, repeat: int, name: str, sides: dict) -> None:
        """The sides take turns (A B C, then C B A, ...); the summary takes each side's median."""
        order = list(sides)
        for r in range(repeat):
            for side in (order if r % 2 == 0 else order[::-1]):
                results.setdefault(f"{name}:{side}", []).append(sides[side]())

    def _reset_sandbox(self) -> None:
        http_json("POST", f"{self.sandbox}/_sandbox/reset", {})

    def _tag(self) -> str:
        self.runs += 1
        return f"r{self.runs}{os.getpid() % 1000}"

    # -- bare clients ----------------------------------------------------------

    def bare_mix(self, n: int) -> BareResult:
        self._reset_sandbox()
        tag = self._tag()
        texts = [(queue.PLATFORMS[i % 3], f"[{tag}-{i}] {queue.WORDING}") for i in range(n)]
        got, cpu = self._measured(lambda: aiohttp_mix(self.sandbox, texts, concurrency=self.concurrency))
        got.cpu = cpu
        _print_bare(f"aiohttp, {n:,} across X/Mastodon/Bluesky", got)
        return got

    def bare_adapters(self, n: int) -> BareResult:
        self._reset_sandbox()
        tag = self._tag()
        texts = [(queue.PLATFORMS[i % 3], f"[{tag}-{i}] {queue.WORDING}") for i in range(n)]
        credentials = {p: c for p, (c, _) in queue.SANDBOX.items()}
        prefixes = {p: prefix for p, (_, prefix) in queue.SANDBOX.items()}
        got, cpu = self._measured(lambda: adapters_threads(self.sandbox, texts, concurrency=self.concurrency,
                                                           credentials=credentials, prefixes=prefixes))
        got.cpu = cpu
        _print_bare(f"civicpost adapters x {self.concurrency} threads, no database", got)
        return got

    def bare_tweepy(self, n: int) -> BareResult:
        self._reset_sandbox()
        tag = self._tag()
        texts = [f"[{tag}-{i}] {queue.WORDING}" for i in range(n)]
        got, cpu = self._measured(lambda: tweepy_threads(self.sandbox, texts, concurrency=self.concurrency))
        got.cpu = cpu
        _print_bare(f"tweepy Client x {self.concurrency} threads, {n:,} to X", got)
        return got

    def _measured(self, action):
        before = self._cpu(os.getpid())
        got = action()
        after = self._cpu(os.getpid())
        return got, {k: after[k] - before[k] for k in before}

    def _cpu(self, client_pid: int | list[int]) -> dict[str, float]:
        pids = client_pid if isinstance(client_pid, list) else [client_pid]
        return {"client": sum(cpu_seconds(p) for p in pids), "sandbox": cpu_seconds(self.sandbox_pid)}

    # -- the engine ------------------------------------------------------------

    def engine(self, db: Database, label: str, n: int, platforms: tuple[str, ...], *, due=None,
               lag_tags: bool = False) -> EngineResult:
        queue.clear(db.engine)
        self._reset_sandbox()
        tag = self._tag()
        with workers(database_url=db.url, workdir=self.workdir, count=db.worker_count,
                     concurrency=self.concurrency) as started:
            deadline = time.monotonic() + 60
            while queue.heartbeats(db.engine) < db.worker_count:
                started.check_alive()
                if time.monotonic() > deadline:
                    raise RuntimeError(f"workers did not start:\n{started.output_tail()}")
                time.sleep(0.1)
            time.sleep(2)  # settled: imports done, LISTEN connected
            idle = started.rss_mb()
            self._warm_up(db, started, platforms, tag)
            before, pg_before = self._cpu(started.pids), backend_cpu(db.engine) if db.label == "postgres" else {}
            now = datetime.now(UTC)
            seeded = queue.seed_due(db.engine, db.city, deliveries=n, platforms=platforms,
                                    due=due or (lambda i: now), tag=tag)
            timeout = max(60.0, n / 40) + (max(seeded.due_by_tag.values()) - now).total_seconds()
            counts = self._wait(db, started, n, timeout)
            after, pg_after = self._cpu(started.pids), backend_cpu(db.engine) if db.label == "postgres" else {}
            after_rss = started.rss_mb()
        times = queue.published_times(db.engine)
        last = max((p for _, p in times), default=seeded.committed_at)
        result = EngineResult(
            label=f"engine on {db.label}, {label}", deliveries=n, statuses=counts,
            seconds=(last - seeded.committed_at).total_seconds(), idle_rss_mb=idle, after_rss_mb=after_rss,
            cpu={**{k: after[k] - before[k] for k in before}, "postgres": backend_cpu_spent(pg_before, pg_after)},
        )
        if lag_tags:
            result.lag_ms = self._lags(seeded.due_by_tag, times)
        _print_engine(result)
        return result

    def _warm_up(self, db: Database, started, platforms: tuple[str, ...], tag: str) -> None:
        """A few sends per platform first: adapters are imported and Bluesky signed in
        on first use, once per process, and that second belongs to no steady state.
        Enough of them that every worker process gets some of each platform (one
        process can claim a whole small batch; the other then starts cold, and
        its imports alone made the first seconds of a lag run 0.5-1.7 s late)."""
        now = datetime.now(UTC)
        count = len(platforms) * 20 * max(1, db.worker_count)
        queue.seed_due(db.engine, db.city, deliveries=count, platforms=platforms, due=lambda i: now, tag=f"{tag}w")
        self._wait(db, started, count, 60)
        queue.clear(db.engine, heartbeats=False)

    def _wait(self, db: Database, started, n: int, timeout: float) -> Counter:
        deadline = time.monotonic() + timeout
        while True:
            counts = queue.statuses(db.engine)
            if sum(counts.get(s, 0) for s in TERMINAL) >= n:
                return counts
            started.check_alive()
            if time.monotonic() > deadline:
                print(f"  ! stopped waiting after {timeout:.0f} s: {dict(counts)}")
                return counts
            time.sleep(0.2)

    def lag(self, db: Database, *, rate: float, seconds: float) -> EngineResult:
        n = int(rate * seconds)
        # Far enough ahead that the whole schedule is committed before the first is due.
        start = datetime.now(UTC) + timedelta(seconds=5 + n / 20_000)
        return self.engine(db, f"steady {rate:g}/s for {seconds:g} s", n, queue.PLATFORMS,
                           due=lambda i: start + timedelta(seconds=i / rate), lag_tags=True)

    def _lags(self, due_by_tag: dict[str, datetime], times: list[tuple[datetime, datetime]]) -> dict[str, float]:
        """Due -> the sandbox receiving the create (its `at`, ms), and due -> published_at as a bound."""
        received = []
        for entry in http_json("GET", f"{self.sandbox}/_sandbox/requests")["requests"]:
            if entry["method"] != "POST" or not entry["path"].endswith(CREATE_PATHS):
                continue
            found = TAG.search(json.dumps(entry["body"]))
            if found and found.group(1) in due_by_tag:
                at = datetime.fromisoformat(entry["at"].replace("Z", "+00:00"))
                received.append((at - due_by_tag[found.group(1)]).total_seconds() * 1000)
        recorded = [(p - d).total_seconds() * 1000 for d, p in times]
        return {**_percentiles("received", received), **_percentiles("published", recorded)}


def _percentiles(prefix: str, values: list[float]) -> dict[str, float]:
    if not values:
        return {f"{prefix}_n": 0}
    ordered = sorted(values)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {f"{prefix}_n": len(ordered), f"{prefix}_p50": at(0.50), f"{prefix}_p90": at(0.90),
            f"{prefix}_p99": at(0.99), f"{prefix}_max": ordered[-1]}


def _print_bare(label: str, got: BareResult) -> None:
    cpu = got.cpu
    print(f"{label:<58} {got.rate:8.0f}/s  {got.requests:>7,} in {got.seconds:6.1f} s  "
          f"cpu ms/request: client {cpu['client'] / got.requests * 1000:.2f}, "
          f"sandbox {cpu['sandbox'] / got.requests * 1000:.2f}"
          f"  answers {dict(got.statuses)}")


def _print_engine(r: EngineResult) -> None:
    done = max(1, r.published)
    print(f"{r.label:<58} {r.rate:8.0f}/s  {r.published:>7,} in {r.seconds:6.1f} s  "
          f"cpu ms/delivery: worker {r.cpu['client'] / done * 1000:.2f}, sandbox {r.cpu['sandbox'] / done * 1000:.2f}, "
          f"postgres {r.cpu['postgres'] / done * 1000:.2f}  rss idle {_mb(r.idle_rss_mb)} after {_mb(r.after_rss_mb)}"
          + ("" if r.published == r.deliveries else f"  statuses {dict(r.statuses)}"))
    if r.lag_ms:
        lag = r.lag_ms
        print(f"{'':<58} lag due->sandbox received (n={lag.get('received_n', 0):,}): p50 {lag.get('received_p50', 0):.0f} ms, "
              f"p90 {lag.get('received_p90', 0):.0f}, p99 {lag.get('received_p99', 0):.0f}, max {lag.get('received_max', 0):.0f}; "
              f"due->published_at p50 {lag.get('published_p50', 0):.0f}, p99 {lag.get('published_p99', 0):.0f}")


def _mb(values: list[float]) -> str:
    return "/".join(f"{v:.0f}" for v in values) + " MB"


def _median(results: dict, key: str, attr: str) -> float | None:
    got = results.get(key)
    if not got:
        return None
    got = got if isinstance(got, list) else [got]
    return statistics.median(getattr(g, attr) for g in got)


def _summary(results: dict, args) -> None:
    print("\n| measure | engine | baseline | engine / baseline | aim |")
    print("|---|---|---|---|---|")

    def ratio_row(name: str, key: str, side: str, label: str, aim: str) -> None:
        engine, bare = _median(results, f"{key}:engine", "rate"), _median(results, f"{key}:{side}", "rate")
        if engine is not None and bare is not None:
            print(f"| {name} | {engine:,.0f}/s | {bare:,.0f}/s ({label}) | {engine / bare:.2f} | {aim} |")

    ratio_row(f"throughput, {args.announcements:,} x 3 due at once, PostgreSQL", "mix", "bare", "aiohttp", "0.7")
    ratio_row("  the same, against the adapters alone (diagnostic)", "mix", "adapters", "adapters, no database", "")
    ratio_row(f"X alone, {args.x_deliveries:,} due at once, PostgreSQL", "x", "bare", "tweepy threads", "0.9")
    ratio_row(f"throughput, {args.sqlite_announcements:,} x 3 due at once, SQLite", "sqlite", "bare", "aiohttp", "0.7")
    engine, bare = _median(results, "burst:engine", "seconds"), _median(results, "burst:bare", "seconds")
    if engine is not None and bare is not None:
        print(f"| burst of {args.burst:,} due in one second: drain time | {engine:.1f} s | {bare:.1f} s (aiohttp) "
              f"| {engine / bare:.1f}x the time | within {AIM['burst']:g}x |")
    for key in ("lag", "lag:below"):
        lag = results.get(key)
        if lag is not None:
            got = lag.lag_ms
            print(f"| lag due -> sandbox received, {lag.label.split(', ', 1)[1]}: p50 / p99 "
                  f"| {got.get('received_p50', 0):,.0f} / {got.get('received_p99', 0):,.0f} ms | | "
                  f"| < {AIM['p50_ms']} / < {AIM['p99_ms']} ms |")
    engines = [r for k, v in results.items() if k.endswith(":engine") or k.startswith("lag")
               for r in (v if isinstance(v, list) else [v])]
    if engines:
        idle = max(max(r.idle_rss_mb) for r in engines)
        after = max(max(r.after_rss_mb) for r in engines)
        print(f"| worker memory (VmRSS): idle after start / largest after a run | {idle:.0f} / {after:.0f} MB | | "
              f"| idle < {AIM['idle_mb']} MB |")


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return (f"{platform.node()}: {os.cpu_count()} cores ({cpu}), Python {sys.version.split()[0]}, "
            f"load average {load} at start")


if __name__ == "__main__":
    main()
