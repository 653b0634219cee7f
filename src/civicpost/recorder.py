"""Outcomes of sends, written in batches by one thread: one transaction for many sends."""

import logging
import queue
import threading
import time
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from civicpost import outcomes
from civicpost.db import transaction

log = logging.getLogger(__name__)

Step = Callable[[Session], object]
BATCH = 200
# How long a batch waits for more outcomes after its first. A send's thread is
# free as soon as it hands its outcome over; only the lease waits this long.
GATHER_SECONDS = 0.025


class _Count(threading.local):
    """Per send thread: how many outcomes it has handed to the recorder."""

    count = 0


class Recorder:
    """An outcome waiting here when the process dies is not lost: its delivery
    stays leased, the lease runs out, and the next worker asks the platform
    before sending anything."""

    def __init__(self, sessions: sessionmaker, *, written: Callable[[list[int]], None],
                 take_back_due: Callable[[], None] = lambda: None, name: str) -> None:
        self._sessions = sessions
        self._written = written  # told the deliveries whose outcomes each batch wrote
        self._take_back_due = take_back_due  # told when a batch recorded a post that a retract wants gone
        self._name = name
        self._queue: queue.Queue[tuple[int, Step] | None] = queue.Queue()
        self._handed = _Count()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="recorder", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout)

    def handed_off(self) -> int:
        """How many outcomes the calling thread has handed over so far."""
        return self._handed.count

    def record(self, delivery_id: int, step: Step) -> None:
        """Hand over the outcome of one delivery; without a running recorder (tests driving one send), write it now."""
        if self._thread is not None and self._thread.is_alive():
            self._handed.count += 1
            self._queue.put((delivery_id, step))
        else:
            self.write([(delivery_id, step)])

    def _loop(self) -> None:
        while True:
            step = self._queue.get()
            if step is None:
                return
            # Outcomes arriving within a moment of the first share its
            # transaction: a batch costs about the same for 2 outcomes as for 20.
            steps = [step]
            until = time.monotonic() + GATHER_SECONDS
            while len(steps) < BATCH:
                try:
                    more = self._queue.get(timeout=max(0.0, until - time.monotonic()))
                except queue.Empty:
                    break
                if more is None:
                    self._queue.put(None)
                    break
                steps.append(more)
            self.write(steps)
            self._written([delivery_id for delivery_id, _ in steps])

    def write(self, steps: list[tuple[int, Step]]) -> None:
        try:
            # No autoflush: a batch's writes wait for its end (one statement per kind, see outcomes.end_batch).
            with transaction(self._sessions) as session, session.no_autoflush:
                outcomes.begin_batch(session, owner=self._name, delivery_ids=[i for i, _ in steps])
                for _, step in steps:
                    step(session)
                take_back = outcomes.end_batch(session)
            if take_back:
                self._take_back_due()
            return
        except Exception:  # noqa: BLE001 - one bad outcome must not sink the others
            if len(steps) == 1:
                log.exception("worker %s: an outcome could not be recorded; its lease will run out and it will be "
                              "reconciled", self._name)
                return
            log.exception("worker %s: a batch of %d outcomes failed; recording them one by one", self._name, len(steps))
        for step in steps:
            self.write([step])
