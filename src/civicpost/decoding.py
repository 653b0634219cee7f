"""A bound on image decodes running at once in this process.

Decoding a large picture takes hundreds of megabytes and most of a CPU for a
while (civicpost.media.PEAK_BYTES_PER_DECODE). Fourteen at once once took
2.4 GB and, because each held SQLite's only write lock, stalled every
sign-in. So decodes run outside any transaction, at most `limit` at a time;
one that cannot start within `wait` seconds is refused with Busy (503 and
Retry-After), and the person sends it again a moment later.

Decodes run on the gate's own `limit` threads: never on the API's few
request threads (web/deps.py), so other API requests keep flowing while
images are decoded; and memory the allocator keeps after a decode (per
thread) is kept by at most `limit` threads, which reuse it for the next one.
"""

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")

# How long an upload waits for a place before it is refused; the answer says
# to try again after RETRY_AFTER_SECONDS.
WAIT_SECONDS = 3.0
RETRY_AFTER_SECONDS = 5
_POLL_SECONDS = 0.05


class Busy(Exception):
    """Every decode place stayed taken for the whole wait."""

    retry_after = RETRY_AFTER_SECONDS
    message = (
        "Several images are being processed right now, so this one was not. "
        f"Wait {RETRY_AFTER_SECONDS} seconds and send it again."
    )


class DecodeGate:
    """At most `limit` decodes at once; `peak` records the most ever seen together."""

    def __init__(self, limit: int, *, wait: float = WAIT_SECONDS) -> None:
        self.limit = limit
        self.wait = wait
        self._places = threading.BoundedSemaphore(limit)
        self._threads = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="civicpost-decode")
        self._count = threading.Lock()
        self.active = 0
        self.peak = 0

    def run(self, work: Callable[[], T]) -> T:
        """Run `work` once a place is free, waiting for it on the calling thread (from sync code)."""
        if not self._places.acquire(timeout=self.wait):
            raise Busy
        return self._submit(work).result()

    async def run_async(self, work: Callable[[], T]) -> T:
        """Wait for a place without holding any thread, then run `work` on the gate's own threads."""
        deadline = time.monotonic() + self.wait
        while not self._places.acquire(blocking=False):
            if time.monotonic() >= deadline:
                raise Busy
            await asyncio.sleep(_POLL_SECONDS)
        return await asyncio.wrap_future(self._submit(work))

    def _submit(self, work: Callable[[], T]) -> Future[T]:
        """Called holding a place, so a gate thread is free at once."""
        try:
            return self._threads.submit(self._inside, work)
        except BaseException:
            self._places.release()
            raise

    def _inside(self, work: Callable[[], T]) -> T:
        """Called holding a place; gives it back however `work` ends."""
        try:
            with self._count:
                self.active += 1
                self.peak = max(self.peak, self.active)
            try:
                return work()
            finally:
                with self._count:
                    self.active -= 1
        finally:
            self._places.release()
