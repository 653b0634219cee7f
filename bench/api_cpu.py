"""Server CPU per API request, in-process: the app called as ASGI, no HTTP server.

    python bench/api_cpu.py list [--count 1500] [--rows 5000] [--inline] [--profile cumulative]
    python bench/api_cpu.py create --count 500
    python bench/api_cpu.py list --postgres   # a scratch PostgreSQL database instead of SQLite

Seeds a fresh SQLite database (or, with --postgres, a scratch PostgreSQL one;
bench/_api_seed.py), makes the app with
create_app, and sends the same requests bench/api.py does (list pages as its
"list first" and "list filtered" kinds, or creates) one at a time straight to
the ASGI callable; prints the process CPU per request, over all and the
least and median of ten batches (`--batches`). Without uvicorn's
parsing and sockets, and in one process, it tells a change's effect apart
from the noise of a shared machine better than bench/api.py; run the code
before and after alternately (`PYTHONPATH=<a checkout>/src` for the before).
`--inline` runs one_trip's handlers on the event loop instead of the request
threads (to price the hand-over); `--profile` prints cProfile's top entries.
"""

import argparse
import asyncio
import contextlib
import cProfile
import json
import os
import pstats
import random
import secrets
import shutil
import statistics
import tempfile
import time
from concurrent.futures import Executor, Future
from pathlib import Path
from typing import Any

from _api_mix import Mix
from _api_seed import Seeded, seed
from _dispatch_stack import scratch_postgres

from civicpost.config import Settings
from civicpost.web import create_app, deps

WARM_UP = 50


class _Inline(Executor):
    """Runs the work at once in the caller's thread (the event loop's)."""

    def submit(self, fn, /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting request, as a thread would
            future.set_exception(exc)
        return future


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=["list", "create"])
    parser.add_argument("--count", type=int, default=1500)
    parser.add_argument("--rows", type=int, default=5000, help="announcements to seed")
    parser.add_argument("--batches", type=int, default=10, help="also the least and median CPU of this many batches")
    parser.add_argument("--inline", action="store_true", help="handlers on the event loop, not the request threads")
    parser.add_argument("--profile", metavar="SORT", help="cProfile the timed requests, sorted by SORT")
    parser.add_argument("--postgres", nargs="?", const=os.environ.get(
        "BENCH_PG_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"), metavar="ADMIN_URL",
        help="seed a scratch PostgreSQL database (made through ADMIN_URL, dropped after) instead of SQLite")
    parser.add_argument("--callees", metavar="NAME", help="with --profile, also what functions matching NAME call")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="civicpost-api-cpu-"))
    try:
        with contextlib.ExitStack() as stack:
            url = (stack.enter_context(scratch_postgres(args.postgres)) if args.postgres
                   else f"sqlite:///{workdir / 'bench.db'}")
            _run(url, workdir, args)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _run(url: str, workdir: Path, args: argparse.Namespace) -> None:
    seeded = seed(url, rows=args.rows, rng=random.Random(2))
    settings = Settings(env="test", database_url=url, secret_key=secrets.token_urlsafe(40),
                        media_dir=workdir / "media")
    if args.inline:
        deps._threads = _Inline()  # noqa: SLF001 - a measuring tool's switch, never in the service
    app = create_app(settings)  # its engine as served: no pre-ping
    asyncio.run(_measure(app, seeded, args))
    app.state.engine.dispose()


async def _measure(app: Any, seeded: Seeded, args: argparse.Namespace) -> None:
    mix = Mix(seeded, random.Random(3), creates=True)

    def call(i: int):
        if args.kind == "create":
            return mix._create(i)
        return mix._first(i) if i % 2 else mix._filtered(i)

    async with app.router.lifespan_context(app):
        for i in range(WARM_UP):
            await _send(app, call(i))
        profile = cProfile.Profile() if args.profile else None
        size = max(1, args.count // args.batches)
        batches: list[float] = []  # CPU ms a request, batch by batch
        started = time.process_time()
        if profile:
            profile.enable()
        for first in range(0, args.count, size):
            batch_started = time.process_time()
            for i in range(first, min(first + size, args.count)):
                await _send(app, call(i))
            batches.append((time.process_time() - batch_started) * 1000 / (min(first + size, args.count) - first))
        if profile:
            profile.disable()
        cpu_ms = (time.process_time() - started) * 1000 / args.count
    # Another tenant's work on a shared VM only ever adds CPU time: the least batch is the steadiest figure
    # for telling two versions of the code apart.
    print(f"{args.kind}: {cpu_ms:.3f} ms of CPU a request over {args.count}"
          f" (batches of {size}: least {min(batches):.3f}, median {statistics.median(batches):.3f} ms)"
          + (" (handlers on the event loop)" if args.inline else "") + (" (under cProfile)" if profile else ""))
    if profile:
        stats = pstats.Stats(profile).sort_stats(args.profile)
        stats.print_stats(40)
        if args.callees:
            stats.print_callees(args.callees)


async def _send(app: Any, call: Any) -> None:
    path, _, query = call.path.partition("?")
    body = json.dumps(call.body).encode() if call.body is not None else b""
    headers = [(b"host", b"bench"), (b"authorization", f"Bearer {call.token}".encode())]
    if call.body is not None:
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": call.method, "path": path,
        "raw_path": path.encode(), "query_string": query.encode(), "headers": headers, "scheme": "http",
        "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 1), "root_path": "", "state": {},
    }
    received = False
    status = 0
    answer = b""

    async def receive() -> dict[str, Any]:
        nonlocal received
        if not received:
            received = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client never leaves
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, answer
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            answer += message.get("body", b"")

    await app(scope, receive, send)
    if not 200 <= status < 300:
        raise SystemExit(f"{call.kind}: HTTP {status} {answer[:300]!r}")
    if call.on_answer is not None:
        call.on_answer(json.loads(answer))


if __name__ == "__main__":
    main()
